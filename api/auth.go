package api

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/imgsched/imgsched/cloud"
	storagev1 "github.com/imgsched/imgsched/proto/imgsched/storage/v1"
)

// TokenMetadataKey carries the Keystone token in gRPC metadata; the gateway
// maps the HTTP header X-Auth-Token to it.
const TokenMetadataKey = "x-auth-token"

// AdminRole is the Keystone role that opens the cross-tenant native API.
const AdminRole = "admin"

type identityKey struct{}

// caller is the authenticated identity behind a request.
type caller struct {
	cloud.Identity
	token string
}

func (c caller) admin() bool { return c.HasRole(AdminRole) }

// sees reports whether the caller may see and steer rec: admins every
// schedule, other tokens their own project's.
func (c caller) sees(rec *storagev1.Schedule) bool {
	return c.admin() || rec.GetTenantId() == c.ProjectID
}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(identityKey{}).(caller)
	return c
}

// unauthenticatedMethods need no token: health checks and reflection.
func unauthenticated(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.") || strings.HasPrefix(fullMethod, "/grpc.reflection.")
}

type authenticator struct {
	tokens TokenValidator
}

func (a authenticator) authenticate(ctx context.Context) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(TokenMetadataKey)
	if len(vals) == 0 || vals[0] == "" {
		return nil, status.Error(codes.Unauthenticated, "Authentication required: send a Keystone token in X-Auth-Token")
	}
	id, err := a.tokens.ValidateToken(ctx, vals[0])
	switch {
	case errors.Is(err, cloud.ErrUnauthorized):
		return nil, status.Error(codes.Unauthenticated, "The request you have made requires authentication: the token is invalid or expired")
	case err != nil:
		return nil, cloudUnavailable("validate the token", err)
	}
	return context.WithValue(ctx, identityKey{}, caller{Identity: id, token: vals[0]}), nil
}

func (a authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if unauthenticated(info.FullMethod) {
		return handler(ctx, req)
	}
	ctx, err := a.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if unauthenticated(info.FullMethod) {
		return handler(srv, ss)
	}
	ctx, err := a.authenticate(ss.Context())
	if err != nil {
		return err
	}
	return handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }
