package otel

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// RedisHook returns a go-redis hook giving every command and pipeline of a
// client a span (see the package doc), child of the command's context: the
// stores pass the request's, so a rate-limit round trip shows under the
// request. Add it to the client before handing the client to the stores of
// ratelimit/redisstore and middleware/redisstore:
//
//	rdb := redis.NewClient(opts) // or redis.NewClusterClient
//	rdb.AddHook(obs.RedisHook())
//
// Dials are not traced. Arguments are never recorded.
func (o *Observer) RedisHook() redis.Hook { return redisHook{o.tracer} }

type redisHook struct{ tracer trace.Tracer }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		name := strings.ToUpper(cmd.Name())
		ctx, span := h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(semconv.DBSystemNameRedis, semconv.DBOperationName(name)))
		err := next(ctx, cmd)
		end(span, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, span := h.tracer.Start(ctx, "PIPELINE", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(semconv.DBSystemNameRedis, semconv.DBOperationName("PIPELINE"), semconv.DBOperationBatchSize(len(cmds))))
		err := next(ctx, cmds)
		end(span, err)
		return err
	}
}

// end ends a command's span, marking a failure (redis.Nil, a missing key, is
// an answer, not a failure). The error's text is a Redis error or a network
// one; it holds no argument.
func end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		typ := semconv.ErrorTypeOther.Value.AsString()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			typ = "timeout"
		} else if prefix, _, ok := strings.Cut(err.Error(), " "); ok && prefix == strings.ToUpper(prefix) && len(prefix) <= 16 {
			typ = prefix // a Redis error's code: ERR, NOSCRIPT, WRONGTYPE, ...
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(typ))
		span.SetStatus(codes.Error, typ)
	}
	span.End()
}
