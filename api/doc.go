// Package api serves imgsched's schedules over gRPC (imgsched.v1) and, through
// grpc-gateway, over REST: the Cloud Servers-compatible
// /v2/{tenant}/servers/{server}/rax-si-image-schedule resource with Nova's
// fault bodies, and the native /v1 API with gRPC-status JSON errors,
// including the runs API (run history, run-now, pause and resume, retention
// preview) over the engine's record of each schedule's runs, which it reads
// but never writes.
//
// It owns authentication, validation and the translation between the wire
// and the stored records. It never talks to etcd or the cloud directly: the
// store and the cloud come in through the small interfaces in deps.go, so
// every rule here is testable with doubles. Client input never yields a 500
// or a panic: every rejection names the field and the rule, and leaves what
// is stored unchanged.
package api
