// Package auditlog records apiguard's security decisions as structured
// zerolog JSON events with a stable schema, and never a secret.
package auditlog
