package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// Config holds what the API needs. Store, Tokens and Servers are required.
type Config struct {
	Store   Store
	Tokens  TokenValidator
	Servers ServerLookup
	// Trusts, when set, delegates a trust from the tenant's user each time
	// a schedule is enabled (trust tenancy); nil means operator tenancy.
	Trusts Trusts
	// Tenants, when set, lets PreviewRetention list a server's images with
	// the schedule's credentials; nil answers it FAILED_PRECONDITION.
	Tenants Tenants
	// Cluster, when set, serves ClusterService (status and load).
	Cluster Cluster
	// Clock stamps schedules (default: the wall clock).
	Clock Clock
	// Ready reports whether the node can serve, for /readyz (default: ready).
	Ready func(ctx context.Context) error
	// Registerer receives the API's metrics (default: a private registry).
	Registerer prometheus.Registerer
	// Gatherer is served at /metrics (default: the private registry).
	Gatherer prometheus.Gatherer
	Logger   *zap.Logger
}

// Server serves the API over gRPC and REST.
type Server struct {
	store   Store
	servers ServerLookup
	trusts  Trusts
	cluster Cluster
	tenants Tenants
	clock   Clock
	ready   func(ctx context.Context) error
	log     *zap.Logger
	gather  prometheus.Gatherer
	metrics *metrics
	grpc    *grpc.Server
	health  *health.Server
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New builds the API server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Tokens == nil || cfg.Servers == nil {
		return nil, errors.New("api: Store, Tokens and Servers are required")
	}
	s := &Server{store: cfg.Store, servers: cfg.Servers, trusts: cfg.Trusts, cluster: cfg.Cluster, tenants: cfg.Tenants, clock: cfg.Clock, ready: cfg.Ready, log: cfg.Logger}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	if s.ready == nil {
		s.ready = func(context.Context) error { return nil }
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	reg, gather := cfg.Registerer, cfg.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gather = r, r
	}
	if gather == nil {
		gather = prometheus.DefaultGatherer
	}
	s.gather = gather
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	auth := authenticator{tokens: cfg.Tokens}
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(s.observeUnary, recoverUnary(s.log), auth.unary),
		grpc.ChainStreamInterceptor(s.observeStream, recoverStream(s.log), auth.stream),
	)
	imgschedv1.RegisterScheduleServiceServer(s.grpc, &scheduleService{deps: s})
	imgschedv1.RegisterImageScheduleServiceServer(s.grpc, &compatService{deps: s})
	imgschedv1.RegisterClusterServiceServer(s.grpc, &clusterService{deps: s})
	imgschedv1.RegisterRunServiceServer(s.grpc, &runService{deps: s})
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	return s, nil
}

// Serve serves gRPC on grpcLis and REST on httpLis until ctx is done, then
// stops gracefully. The REST gateway reaches the gRPC services through
// grpcLis, so both APIs share one code path.
func (s *Server) Serve(ctx context.Context, grpcLis, httpLis net.Listener) error {
	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("api: dial own gRPC listener: %w", err)
	}
	defer conn.Close()
	handler, err := s.httpHandler(ctx, conn)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(grpcLis) }()
	go func() { errc <- hs.Serve(httpLis) }()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.health.Shutdown()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdownCtx)
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		s.grpc.Stop()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}

// recoverUnary turns a panic into INTERNAL so that one bad request cannot
// take the node down; the stack goes to the log.
func recoverUnary(log *zap.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", zap.String("method", info.FullMethod), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *zap.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in handler", zap.String("method", info.FullMethod), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}
