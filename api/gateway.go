package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/imgsched/imgsched/api/openapi"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// maxNativeBodyBytes bounds a request body of the native API; the bulk
// import streams and is bounded per message instead.
const maxNativeBodyBytes = 1 << 20

func (s *Server) httpHandler(ctx context.Context, conn *grpc.ClientConn) (http.Handler, error) {
	headers := runtime.WithIncomingHeaderMatcher(matchHeader)
	compat := runtime.NewServeMux(headers,
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &compatMarshaler{JSONPb: runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{UseProtoNames: true},
		}}),
		runtime.WithErrorHandler(novaError),
		runtime.WithRoutingErrorHandler(novaRoutingError),
		runtime.WithForwardResponseOption(compatStatus),
	)
	if err := imgschedv1.RegisterImageScheduleServiceHandler(ctx, compat, conn); err != nil {
		return nil, fmt.Errorf("api: register compatible gateway: %w", err)
	}
	native := runtime.NewServeMux(headers,
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions: protojson.MarshalOptions{UseProtoNames: true},
		}),
	)
	if err := imgschedv1.RegisterScheduleServiceHandler(ctx, native, conn); err != nil {
		return nil, fmt.Errorf("api: register native gateway: %w", err)
	}
	if err := imgschedv1.RegisterRunServiceHandler(ctx, native, conn); err != nil {
		return nil, fmt.Errorf("api: register runs gateway: %w", err)
	}
	if err := imgschedv1.RegisterClusterServiceHandler(ctx, native, conn); err != nil {
		return nil, fmt.Errorf("api: register cluster gateway: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v2/", compat)
	mux.Handle("/v1/", limitNativeBody(native))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapi.JSON)
	})
	return mux, nil
}

// matchHeader passes X-Auth-Token to the gRPC services besides grpc-gateway's
// defaults.
func matchHeader(key string) (string, bool) {
	if strings.EqualFold(key, "X-Auth-Token") {
		return TokenMetadataKey, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

func limitNativeBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ":import") {
			r.Body = http.MaxBytesReader(w, r.Body, maxNativeBodyBytes)
		}
		h.ServeHTTP(w, r)
	})
}

// compatMarshaler writes the compatible resource's JSON (proto field names)
// and hands request bodies to the service verbatim, so that validation
// there sees exactly what the client sent. An Empty response is an empty
// body, as the provider's 202 for DELETE is.
type compatMarshaler struct {
	runtime.JSONPb
}

func (m *compatMarshaler) Marshal(v any) ([]byte, error) {
	if _, ok := v.(*emptypb.Empty); ok {
		return nil, nil
	}
	b, err := m.JSONPb.Marshal(v)
	if err != nil {
		return nil, err
	}
	// protojson varies its white space on purpose; the compatible resource
	// answers canonical compact JSON, as the provider does.
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("compact response: %w", err)
	}
	return out.Bytes(), nil
}

func (m *compatMarshaler) NewDecoder(r io.Reader) runtime.Decoder {
	return rawBody{r: r, json: m.JSONPb.NewDecoder(r)}
}

type rawBody struct {
	r    io.Reader
	json runtime.Decoder
}

// Decode reads at most one byte past the body limit into a []byte target,
// enough for the service to reject an oversized body without reading it all.
func (d rawBody) Decode(v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return d.json.Decode(v)
	}
	data, err := io.ReadAll(io.LimitReader(d.r, MaxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	*b = data
	return nil
}

// compatStatus answers DELETE of the compatible resource with 202 Accepted.
func compatStatus(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	if m, ok := runtime.RPCMethod(ctx); ok && m == imgschedv1.ImageScheduleService_DeleteImageSchedule_FullMethodName {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

// novaFault names Nova's fault body for a gRPC code.
func novaFault(c codes.Code) (int, string) {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest, "badRequest"
	case codes.Unauthenticated:
		return http.StatusUnauthorized, "unauthorized"
	case codes.PermissionDenied:
		return http.StatusForbidden, "forbidden"
	case codes.NotFound:
		return http.StatusNotFound, "itemNotFound"
	case codes.AlreadyExists, codes.Aborted, codes.FailedPrecondition:
		return http.StatusConflict, "conflictingRequest"
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests, "overLimit"
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return http.StatusServiceUnavailable, "serviceUnavailable"
	default:
		return http.StatusInternalServerError, "computeFault"
	}
}

func writeFault(w http.ResponseWriter, code int, name, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Del("Trailer")
	w.WriteHeader(code)
	type body struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	}
	json.NewEncoder(w).Encode(map[string]body{name: {Message: message, Code: code}})
}

// novaError renders a failed call of the compatible resource as a Nova
// fault: {"badRequest": {"message": "...", "code": 400}}.
func novaError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st := status.Convert(err)
	code, name := novaFault(st.Code())
	writeFault(w, code, name, st.Message())
}

func novaRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		writeFault(w, httpStatus, "badMethod", fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path))
	case http.StatusNotFound:
		writeFault(w, httpStatus, "itemNotFound", "The resource could not be found.")
	default:
		writeFault(w, httpStatus, "badRequest", http.StatusText(httpStatus))
	}
}
