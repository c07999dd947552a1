// Package openapi embeds the OpenAPI document that protoc-gen-openapiv2
// generates from proto/imgsched/v1 (see `make generate`).
package openapi

import _ "embed"

// JSON is the OpenAPI v2 document of the imgsched.v1 REST API.
//
//go:embed imgsched.swagger.json
var JSON []byte
