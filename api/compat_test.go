package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// fault decodes a Nova fault body and checks its shape.
func fault(t *testing.T, r response, wantStatus int, wantName string) string {
	t.Helper()
	if r.status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", r.status, wantStatus, r.body)
	}
	var body map[string]struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("fault body %q is not JSON: %v", r.body, err)
	}
	f, ok := body[wantName]
	if len(body) != 1 || !ok {
		t.Fatalf("fault body %s, want one key %q", r.body, wantName)
	}
	if f.Code != wantStatus {
		t.Fatalf("fault code %d, want %d", f.Code, wantStatus)
	}
	return f.Message
}

func TestEnableShowAndDisableADailyAndAWeeklySchedule(t *testing.T) {
	h := newHarness(t)
	p := schedulePath("tenant-a", "srv-a1")
	for _, tc := range []struct {
		name, body, want string
	}{
		{"daily", `{"image_schedule": {"retention": 7}}`, `{"image_schedule":{"retention":7}}`},
		{"weekly in lower case is stored upper case", `{"image_schedule": {"retention": 5, "day_of_week": "saturday"}}`, `{"image_schedule":{"retention":5,"day_of_week":"SATURDAY"}}`},
		{"back to daily", `{"image_schedule": {"retention": 65535}}`, `{"image_schedule":{"retention":65535}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(t, "POST", p, "tok-a", []byte(tc.body))
			if r.status != 200 || r.body != tc.want {
				t.Fatalf("POST: %d %s, want 200 %s", r.status, r.body, tc.want)
			}
			r = h.do(t, "GET", p, "tok-a", nil)
			if r.status != 200 || r.body != tc.want {
				t.Fatalf("GET: %d %s, want 200 %s", r.status, r.body, tc.want)
			}
		})
	}
	r := h.do(t, "DELETE", p, "tok-a", nil)
	if r.status != 202 || r.body != "" {
		t.Fatalf("DELETE: %d %q, want 202 and an empty body", r.status, r.body)
	}
	msg := fault(t, h.do(t, "GET", p, "tok-a", nil), 404, "itemNotFound")
	if msg != "Image schedule does not exist for server srv-a1" {
		t.Fatalf("message %q", msg)
	}
	if r := h.do(t, "DELETE", p, "tok-a", nil); r.status != 202 {
		t.Fatalf("second DELETE: %d, want 202 (idempotent)", r.status)
	}
}

func TestEveryRejectedBodyIsABadRequestNamingTheRuleAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	p := schedulePath("tenant-a", "srv-a1")
	const stored = `{"image_schedule":{"retention":3,"day_of_week":"MONDAY"}}`
	if r := h.do(t, "POST", p, "tok-a", []byte(`{"image_schedule": {"retention": 3, "day_of_week": "MONDAY"}}`)); r.body != stored {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	huge := `{"image_schedule": {"retention": 7, "day_of_week": "` + strings.Repeat("x", 70000) + `"}}`
	for _, tc := range []struct {
		name, body, message string
	}{
		{"retention zero", `{"image_schedule": {"retention": 0}}`, "The retention value 0 is not allowed. It must be greater than 0"},
		{"negative retention", `{"image_schedule": {"retention": -1}}`, "The retention value -1 is not allowed. It must be greater than 0"},
		{"retention past the maximum", `{"image_schedule": {"retention": 65536}}`, "The retention value 65536 is not allowed. It cannot exceed 65535"},
		{"retention past any integer type", `{"image_schedule": {"retention": 99999999999999999999999}}`, "The retention value 99999999999999999999999 is not allowed. It cannot exceed 65535"},
		{"float retention", `{"image_schedule": {"retention": 1.5}}`, "The retention value 1.5 is not allowed. It must be an integer"},
		{"integral float retention", `{"image_schedule": {"retention": 7.0}}`, "The retention value 7.0 is not allowed. It must be an integer"},
		{"exponent retention", `{"image_schedule": {"retention": 1e3}}`, "The retention value 1e3 is not allowed. It must be an integer"},
		{"string retention", `{"image_schedule": {"retention": "7"}}`, `The retention value "7" is not allowed. It must be an integer`},
		{"list retention", `{"image_schedule": {"retention": [7]}}`, "The retention value [7] is not allowed. It must be an integer"},
		{"object retention", `{"image_schedule": {"retention": {"n": 7}}}`, `The retention value {"n":7} is not allowed. It must be an integer`},
		{"null retention", `{"image_schedule": {"retention": null}}`, "The retention value null is not allowed. It must be an integer"},
		{"boolean retention", `{"image_schedule": {"retention": true}}`, "The retention value true is not allowed. It must be an integer"},
		{"missing retention", `{"image_schedule": {"day_of_week": "MONDAY"}}`, "Key retention is missing in the body"},
		{"missing image_schedule", `{}`, "Key image_schedule is missing in the body"},
		{"empty body", ``, "Key image_schedule is missing in the body"},
		{"image_schedule not an object", `{"image_schedule": 5}`, "Invalid image_schedule 5: it must be an object"},
		{"unknown top-level key", `{"image_schedule": {"retention": 7}, "extra": 1}`, `Unknown key "extra" in the body: only image_schedule is allowed`},
		{"unknown schedule key", `{"image_schedule": {"retention": 7, "hour": 3}}`, `Unknown key "hour" in image_schedule: only retention and day_of_week are allowed`},
		{"unknown day", `{"image_schedule": {"retention": 7, "day_of_week": "FUNDAY"}}`, "Invalid day_of_week FUNDAY: use SUNDAY..SATURDAY"},
		{"numeric day", `{"image_schedule": {"retention": 7, "day_of_week": 3}}`, "Invalid day_of_week 3: use SUNDAY..SATURDAY"},
		{"malformed JSON", `{"image_schedule": {"retention": 7`, "Malformed request body"},
		{"not JSON at all", `retention=7`, "Malformed request body"},
		{"a list body", `[{"image_schedule": {"retention": 7}}]`, "Malformed request body: it must be a JSON object"},
		{"two documents", `{"image_schedule": {"retention": 7}} {}`, "Malformed request body: unexpected data after the JSON object"},
		{"a body over 64 KiB", huge, "Request body is too large: it cannot exceed 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := fault(t, h.do(t, "POST", p, "tok-a", []byte(tc.body)), 400, "badRequest")
			if !strings.HasPrefix(msg, tc.message) {
				t.Fatalf("message %q, want it to start with %q", msg, tc.message)
			}
			if r := h.do(t, "GET", p, "tok-a", nil); r.status != 200 || r.body != stored {
				t.Fatalf("stored schedule changed: %d %s", r.status, r.body)
			}
		})
	}
}

func TestTokensTenantsAndServersAreChecked(t *testing.T) {
	h := newHarness(t)
	if r := h.do(t, "POST", schedulePath("tenant-b", "srv-b1"), "tok-b", []byte(`{"image_schedule": {"retention": 2}}`)); r.status != 200 {
		t.Fatalf("setup: %d %s", r.status, r.body)
	}
	body := []byte(`{"image_schedule": {"retention": 1}}`)
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		fault, message            string
	}{
		{"no token", "POST", schedulePath("tenant-a", "srv-a1"), "", 401, "unauthorized", "Authentication required"},
		{"a bad token", "GET", schedulePath("tenant-a", "srv-a1"), "forged", 401, "unauthorized", "The request you have made requires authentication"},
		{"another tenant in the URL", "POST", schedulePath("tenant-b", "srv-b1"), "tok-a", 403, "forbidden", "Tenant tenant-b in the URL is not the project of the token"},
		{"another tenant's server under one's own tenant", "POST", schedulePath("tenant-a", "srv-b1"), "tok-a", 404, "itemNotFound", "Specified instance srv-b1 could not be found."},
		{"another tenant's server read", "GET", schedulePath("tenant-a", "srv-b1"), "tok-a", 404, "itemNotFound", "Specified instance srv-b1 could not be found."},
		{"another tenant's server deleted", "DELETE", schedulePath("tenant-a", "srv-b1"), "tok-a", 404, "itemNotFound", "Specified instance srv-b1 could not be found."},
		{"a server that does not exist", "POST", schedulePath("tenant-a", "no-such-server"), "tok-a", 404, "itemNotFound", "Specified instance no-such-server could not be found."},
		{"a path that is not a resource", "GET", "/v2/tenant-a/servers", "tok-a", 404, "itemNotFound", "The resource could not be found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			if tc.method == "POST" {
				b = body
			}
			msg := fault(t, h.do(t, tc.method, tc.path, tc.token, b), tc.status, tc.fault)
			if !strings.HasPrefix(msg, tc.message) {
				t.Fatalf("message %q, want it to start with %q", msg, tc.message)
			}
		})
	}
	if r := h.do(t, "GET", schedulePath("tenant-b", "srv-b1"), "tok-b", nil); r.body != `{"image_schedule":{"retention":2}}` {
		t.Fatalf("tenant-b's schedule changed: %d %s", r.status, r.body)
	}
}

func TestFiftyConcurrentPostsForOneServerLeaveExactlyOneSchedule(t *testing.T) {
	h := newHarness(t)
	p := schedulePath("tenant-a", "srv-a2")
	var wg sync.WaitGroup
	statuses := make(chan int, 50)
	for i := 1; i <= 50; i++ {
		wg.Add(1)
		go func(retention int) {
			defer wg.Done()
			body := fmt.Sprintf(`{"image_schedule": {"retention": %d}}`, retention)
			if retention%2 == 0 {
				body = fmt.Sprintf(`{"image_schedule": {"retention": %d, "day_of_week": "friday"}}`, retention)
			}
			statuses <- h.do(t, "POST", p, "tok-a", []byte(body)).status
		}(i)
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("a POST answered %d", s)
		}
	}
	recs, _, err := h.store.List(t.Context(), clusterAll())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d schedules stored, want 1", len(recs))
	}
	r := h.do(t, "GET", p, "tok-a", nil)
	var got struct {
		ImageSchedule struct {
			Retention int     `json:"retention"`
			Day       *string `json:"day_of_week"`
		} `json:"image_schedule"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	weekly := got.ImageSchedule.Day != nil
	if got.ImageSchedule.Retention < 1 || got.ImageSchedule.Retention > 50 || weekly != (got.ImageSchedule.Retention%2 == 0) {
		t.Fatalf("stored %s is not one of the POSTed schedules", r.body)
	}
}
