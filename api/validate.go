package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// Limits of SPEC §1.
const (
	MaxRetention = 65535
	// MaxBodyBytes bounds a request body of the compatible resource.
	MaxBodyBytes = 64 << 10
	maxIDLength  = 255
)

// invalid is a rejected field: it becomes INVALID_ARGUMENT with a BadRequest
// detail naming the field, and a Nova badRequest fault over REST.
func invalid(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	st := status.New(codes.InvalidArgument, msg)
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: msg}}}); err == nil {
		st = d
	}
	return st.Err()
}

// validateID checks a server or tenant id: ids go into etcd keys and URLs.
func validateID(field, id string) error {
	if id == "" {
		return invalid(field, "Key %s is missing", field)
	}
	if len(id) > maxIDLength {
		return invalid(field, "Invalid %s: it cannot be longer than %d characters", field, maxIDLength)
	}
	for _, r := range id {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return invalid(field, "Invalid %s %q: it cannot contain '/', spaces or control characters", field, id)
		}
	}
	return nil
}

// retentionRule checks a retention given as an integer.
func retentionRule(literal string, n *big.Int) error {
	if n.Sign() <= 0 {
		return invalid("retention", "The retention value %s is not allowed. It must be greater than 0", literal)
	}
	if n.Cmp(big.NewInt(MaxRetention)) > 0 {
		return invalid("retention", "The retention value %s is not allowed. It cannot exceed %d", literal, MaxRetention)
	}
	return nil
}

func validateRetention(n int64) (uint32, error) {
	if err := retentionRule(fmt.Sprint(n), big.NewInt(n)); err != nil {
		return 0, err
	}
	return uint32(n), nil
}

// parseDayOfWeek accepts a weekday name in any letter case.
func parseDayOfWeek(s string) (imgschedv1.DayOfWeek, bool) {
	v, ok := imgschedv1.DayOfWeek_value[strings.ToUpper(s)]
	if !ok || v == int32(imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED) {
		return 0, false
	}
	return imgschedv1.DayOfWeek(v), true
}

func validateDayOfWeek(d imgschedv1.DayOfWeek) error {
	if d < imgschedv1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED || d > imgschedv1.DayOfWeek_SATURDAY {
		return invalid("day_of_week", "Invalid day_of_week %d: use SUNDAY..SATURDAY", int32(d))
	}
	return nil
}

// imageScheduleBody is a validated body of the compatible resource.
type imageScheduleBody struct {
	retention uint32
	day       imgschedv1.DayOfWeek
}

// parseImageScheduleBody validates {"image_schedule": {"retention": N,
// "day_of_week": "DAY"}} exactly as the provider does: retention must be an
// integer literal (7.0 is a float), keys other than these are rejected.
func parseImageScheduleBody(body []byte) (imageScheduleBody, error) {
	var out imageScheduleBody
	if len(body) > MaxBodyBytes {
		return out, invalid("body", "Request body is too large: it cannot exceed %d bytes", MaxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, invalid("image_schedule", "Key image_schedule is missing in the body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return out, invalid("body", "Malformed request body: %s", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return out, invalid("body", "Malformed request body: unexpected data after the JSON object")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return out, invalid("body", "Malformed request body: it must be a JSON object")
	}
	for k := range top {
		if k != "image_schedule" {
			return out, invalid(k, "Unknown key %s in the body: only image_schedule is allowed", quoteKey(k))
		}
	}
	raw, ok := top["image_schedule"]
	if !ok {
		return out, invalid("image_schedule", "Key image_schedule is missing in the body")
	}
	sched, ok := raw.(map[string]any)
	if !ok {
		return out, invalid("image_schedule", "Invalid image_schedule %s: it must be an object", jsonLiteral(raw))
	}
	for k := range sched {
		if k != "retention" && k != "day_of_week" {
			return out, invalid("image_schedule."+k, "Unknown key %s in image_schedule: only retention and day_of_week are allowed", quoteKey(k))
		}
	}
	rv, ok := sched["retention"]
	if !ok {
		return out, invalid("retention", "Key retention is missing in the body")
	}
	num, ok := rv.(json.Number)
	if !ok || strings.ContainsAny(string(num), ".eE") {
		return out, invalid("retention", "The retention value %s is not allowed. It must be an integer", jsonLiteral(rv))
	}
	n, ok := new(big.Int).SetString(string(num), 10)
	if !ok {
		return out, invalid("retention", "The retention value %s is not allowed. It must be an integer", jsonLiteral(rv))
	}
	if err := retentionRule(string(num), n); err != nil {
		return out, err
	}
	out.retention = uint32(n.Int64())
	if dv, ok := sched["day_of_week"]; ok {
		s, isString := dv.(string)
		day, known := parseDayOfWeek(s)
		if !isString || !known {
			return out, invalid("day_of_week", "Invalid day_of_week %s: use SUNDAY..SATURDAY", strings.Trim(jsonLiteral(dv), `"`))
		}
		out.day = day
	}
	return out, nil
}

// jsonLiteral renders a decoded JSON value for a message, shortened.
func jsonLiteral(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const limit = 64
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "..."
	}
	return fmt.Sprintf("%q", k)
}

func jsonError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s at byte %d", syn.Error(), syn.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of JSON input"
	}
	return err.Error()
}
