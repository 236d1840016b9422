package jose

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// A resource server finds its provider's jwks_uri from the issuer alone.
func ExampleDiscovery_Metadata() {
	var issuer string
	provider := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/realms/api/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuer, issuer+"/protocol/openid-connect/certs")
	}))
	issuer = "http://" + provider.Listener.Addr().String() + "/realms/api" // http: allowed on loopback only
	provider.Start()
	defer provider.Close()

	d, err := NewDiscovery(DiscoveryConfig{Issuer: issuer})
	if err != nil {
		fmt.Println(err)
		return
	}
	md, err := d.Metadata(context.Background())
	var de *DiscoveryError
	switch {
	case errors.Is(err, ErrDiscoveryUnavailable) && errors.As(err, &de):
		fmt.Println("retry after", de.RetryAfter) // the gate answers 503
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	fmt.Println(strings.TrimPrefix(md.JWKSURI, provider.URL))
	// Output: /realms/api/protocol/openid-connect/certs
}
