package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/imgsched/imgsched/cluster"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

func wantCode(t *testing.T, err error, code codes.Code, field, message string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("code %v (%v), want %v", st.Code(), err, code)
	}
	if !strings.HasPrefix(st.Message(), message) {
		t.Fatalf("message %q, want it to start with %q", st.Message(), message)
	}
	if field == "" {
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) == 1 && br.FieldViolations[0].Field == field {
			return
		}
	}
	t.Fatalf("no BadRequest detail naming field %q in %v", field, st.Details())
}

func TestSetScheduleRejectsBadFieldsNamingThemAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := withToken("tok-a")
	if _, err := h.native.SetSchedule(ctx, &imgschedv1.SetScheduleRequest{ServerId: "srv-a1", Retention: 4}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		req            *imgschedv1.SetScheduleRequest
		field, message string
	}{
		{"retention zero", &imgschedv1.SetScheduleRequest{ServerId: "srv-a1"}, "retention", "The retention value 0 is not allowed. It must be greater than 0"},
		{"negative retention", &imgschedv1.SetScheduleRequest{ServerId: "srv-a1", Retention: -5}, "retention", "The retention value -5 is not allowed. It must be greater than 0"},
		{"retention past the maximum", &imgschedv1.SetScheduleRequest{ServerId: "srv-a1", Retention: 65536}, "retention", "The retention value 65536 is not allowed. It cannot exceed 65535"},
		{"an unknown day", &imgschedv1.SetScheduleRequest{ServerId: "srv-a1", Retention: 1, DayOfWeek: 99}, "day_of_week", "Invalid day_of_week 99: use SUNDAY..SATURDAY"},
		{"no server", &imgschedv1.SetScheduleRequest{Retention: 1}, "server_id", "Key server_id is missing"},
		{"a server id with a slash", &imgschedv1.SetScheduleRequest{ServerId: "a/b", Retention: 1}, "server_id", `Invalid server_id "a/b"`},
		{"a server id too long", &imgschedv1.SetScheduleRequest{ServerId: strings.Repeat("x", 256), Retention: 1}, "server_id", "Invalid server_id: it cannot be longer than 255 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.native.SetSchedule(ctx, tc.req)
			wantCode(t, err, codes.InvalidArgument, tc.field, tc.message)
			got, err := h.native.GetSchedule(ctx, &imgschedv1.GetScheduleRequest{ServerId: "srv-a1"})
			if err != nil || got.GetRetention() != 4 {
				t.Fatalf("stored schedule changed: %v %v", got, err)
			}
		})
	}
}

func TestNativeCallsRespectTenancy(t *testing.T) {
	h := newHarness(t)
	a, b, admin := withToken("tok-a"), withToken("tok-b"), withToken("tok-admin")
	if _, err := h.native.SetSchedule(b, &imgschedv1.SetScheduleRequest{ServerId: "srv-b1", Retention: 2}); err != nil {
		t.Fatal(err)
	}
	_, err := h.native.SetSchedule(a, &imgschedv1.SetScheduleRequest{TenantId: "tenant-b", ServerId: "srv-b1", Retention: 9})
	wantCode(t, err, codes.PermissionDenied, "", "tenant_id tenant-b is not the project of the token")
	_, err = h.native.SetSchedule(a, &imgschedv1.SetScheduleRequest{ServerId: "srv-b1", Retention: 9})
	wantCode(t, err, codes.NotFound, "", "Specified instance srv-b1 could not be found.")
	_, err = h.native.GetSchedule(a, &imgschedv1.GetScheduleRequest{ServerId: "srv-b1"})
	wantCode(t, err, codes.NotFound, "", "Image schedule does not exist for server srv-b1")
	if _, err := h.native.DeleteSchedule(a, &imgschedv1.DeleteScheduleRequest{ServerId: "srv-b1"}); err != nil {
		t.Fatalf("deleting what one cannot see answers like deleting nothing: %v", err)
	}
	_, err = h.native.ListSchedules(a, &imgschedv1.ListSchedulesRequest{TenantId: "tenant-b"})
	wantCode(t, err, codes.PermissionDenied, "", "tenant_id tenant-b is not the project of the token")
	got, err := h.native.GetSchedule(admin, &imgschedv1.GetScheduleRequest{ServerId: "srv-b1"})
	if err != nil || got.GetRetention() != 2 || got.GetTenantId() != "tenant-b" {
		t.Fatalf("admin reads %v, %v; want tenant-b's untouched schedule", got, err)
	}
	// An admin may leave the tenant to the cloud.
	got, err = h.native.SetSchedule(admin, &imgschedv1.SetScheduleRequest{ServerId: "srv-a3", Retention: 3, DayOfWeek: imgschedv1.DayOfWeek_SUNDAY})
	if err != nil || got.GetTenantId() != "tenant-a" || got.GetKind() != imgschedv1.ScheduleKind_WEEKLY {
		t.Fatalf("admin set: %v, %v", got, err)
	}
	_, err = h.native.ListSchedules(context.Background(), &imgschedv1.ListSchedulesRequest{})
	wantCode(t, err, codes.Unauthenticated, "", "Authentication required")
}

func listAll(t *testing.T, h *harness, token string, req *imgschedv1.ListSchedulesRequest) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		resp, err := h.native.ListSchedules(withToken(token), req)
		if err != nil {
			t.Fatal(err)
		}
		if req.PageSize > 0 && len(resp.Schedules) > int(req.PageSize) {
			t.Fatalf("page of %d, page size %d", len(resp.Schedules), req.PageSize)
		}
		for _, s := range resp.Schedules {
			ids = append(ids, s.ServerId)
		}
		if resp.NextPageToken == "" {
			sort.Strings(ids)
			return ids
		}
		if pages > 100 {
			t.Fatal("listing does not end")
		}
		req.PageToken = resp.NextPageToken
	}
}

func TestListSchedulesPagesAndFilters(t *testing.T) {
	h := newHarness(t)
	var all, weeklySat, tenantB, dailyA []string
	for i := 1; i <= 12; i++ {
		for _, tenant := range []string{"a", "b"} {
			id := fmt.Sprintf("srv-%s%d", tenant, i)
			req := &imgschedv1.SetScheduleRequest{ServerId: id, Retention: int64(i)}
			if i%3 == 0 {
				req.DayOfWeek = imgschedv1.DayOfWeek_SATURDAY
				weeklySat = append(weeklySat, id)
			} else if tenant == "a" {
				dailyA = append(dailyA, id)
			}
			if _, err := h.native.SetSchedule(withToken("tok-"+tenant), req); err != nil {
				t.Fatal(err)
			}
			all = append(all, id)
			if tenant == "b" {
				tenantB = append(tenantB, id)
			}
		}
	}
	for _, s := range [][]string{all, weeklySat, tenantB, dailyA} {
		sort.Strings(s)
	}
	for _, tc := range []struct {
		name  string
		token string
		req   *imgschedv1.ListSchedulesRequest
		want  []string
	}{
		{"an admin pages through every tenant", "tok-admin", &imgschedv1.ListSchedulesRequest{PageSize: 5}, all},
		{"an admin filters by tenant", "tok-admin", &imgschedv1.ListSchedulesRequest{TenantId: "tenant-b", PageSize: 4}, tenantB},
		{"an admin filters by day", "tok-admin", &imgschedv1.ListSchedulesRequest{DayOfWeek: imgschedv1.DayOfWeek_SATURDAY, PageSize: 3}, weeklySat},
		{"a tenant sees only its own daily schedules", "tok-a", &imgschedv1.ListSchedulesRequest{Kind: imgschedv1.ScheduleKind_DAILY, PageSize: 2}, dailyA},
		{"a filter on state matches nothing paused", "tok-admin", &imgschedv1.ListSchedulesRequest{State: imgschedv1.ScheduleState_PAUSED}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listAll(t, h, tc.token, tc.req)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("listed %v\nwant %v", got, tc.want)
			}
		})
	}
	_, err := h.native.ListSchedules(withToken("tok-admin"), &imgschedv1.ListSchedulesRequest{PageToken: "not-a-token!"})
	wantCode(t, err, codes.InvalidArgument, "page_token", "Invalid page_token")
	_, err = h.native.ListSchedules(withToken("tok-admin"), &imgschedv1.ListSchedulesRequest{PageSize: -1})
	wantCode(t, err, codes.InvalidArgument, "page_size", "Invalid page_size -1")
}

func TestImportWritesValidEntriesAndReportsTheRest(t *testing.T) {
	h := newHarness(t)
	stream, err := h.native.ImportSchedules(withToken("tok-admin"))
	if err != nil {
		t.Fatal(err)
	}
	var batch []*imgschedv1.SetScheduleRequest
	for i := 0; i < 300; i++ {
		batch = append(batch, &imgschedv1.SetScheduleRequest{TenantId: fmt.Sprintf("fleet-%d", i%10), ServerId: fmt.Sprintf("fleet-srv-%03d", i), Retention: 1 + int64(i%7)})
	}
	batch[7].Retention = 0
	batch[9].TenantId = ""
	for _, b := range [][]*imgschedv1.SetScheduleRequest{batch[:150], batch[150:]} {
		if err := stream.Send(&imgschedv1.ImportSchedulesRequest{Schedules: b}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var imported int32
	var rejected []string
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		imported += resp.Imported
		for _, r := range resp.Rejected {
			rejected = append(rejected, fmt.Sprintf("%d %s %s", r.Index, r.ServerId, r.Message))
		}
	}
	if imported != 298 {
		t.Fatalf("imported %d, want 298", imported)
	}
	want := []string{
		"7 fleet-srv-007 The retention value 0 is not allowed. It must be greater than 0",
		"9 fleet-srv-009 Key tenant_id is missing: imports must name each schedule's tenant",
	}
	if fmt.Sprint(rejected) != fmt.Sprint(want) {
		t.Fatalf("rejected %q\nwant %q", rejected, want)
	}
	if got := listAll(t, h, "tok-admin", &imgschedv1.ListSchedulesRequest{TenantId: "fleet-3", PageSize: 1000}); len(got) != 30 {
		t.Fatalf("fleet-3 has %d schedules, want 30", len(got))
	}
	member, err := h.native.ImportSchedules(withToken("tok-a"))
	if err != nil {
		t.Fatal(err)
	}
	member.Send(&imgschedv1.ImportSchedulesRequest{Schedules: batch[:1]})
	_, err = member.Recv()
	wantCode(t, err, codes.PermissionDenied, "", "importing schedules needs the admin role")
}

func TestNativeRESTUsesGRPCStatusErrorsAndHealthIsOpen(t *testing.T) {
	h := newHarness(t)
	r := h.do(t, "PUT", "/v1/servers/srv-a1/schedule", "tok-a", []byte(`{"retention": 0}`))
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.body), &st); err != nil || r.status != 400 || st.Code != int(codes.InvalidArgument) {
		t.Fatalf("PUT retention 0: %d %s", r.status, r.body)
	}
	r = h.do(t, "PUT", "/v1/servers/srv-a1/schedule", "tok-a", []byte(`{"retention": 3, "day_of_week": "TUESDAY"}`))
	if r.status != 200 || !strings.Contains(r.body, `"day_of_week":"TUESDAY"`) || !strings.Contains(r.body, `"kind":"WEEKLY"`) {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	r = h.do(t, "PUT", "/v1/servers/srv-a1/schedule", "tok-a", []byte(`{"retention": 3, "colour": "red"}`))
	if r.status != 400 {
		t.Fatalf("unknown field: %d %s, want 400", r.status, r.body)
	}
	r = h.do(t, "GET", "/v1/servers/srv-a9/schedule", "tok-a", nil)
	if err := json.Unmarshal([]byte(r.body), &st); err != nil || r.status != 404 || st.Code != int(codes.NotFound) {
		t.Fatalf("GET missing: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if r := h.do(t, "GET", path, "", nil); r.status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	if r := h.do(t, "GET", "/metrics", "", nil); !strings.Contains(r.body, "imgsched_api_requests_total") {
		t.Fatal("metrics lack imgsched_api_requests_total")
	}
	hc, err := healthpb.NewHealthClient(h.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || hc.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC health: %v %v", hc, err)
	}
}

func TestSchedulesSurviveARestartOnTheSameDataDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	start := func() (*harness, func()) {
		e, err := cluster.StartEmbedded(context.Background(), cluster.DefaultEmbeddedConfig(dir))
		if err != nil {
			t.Fatal(err)
		}
		c, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		store, err := cluster.OpenStore(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return startNode(t, store), func() { c.Close(); e.Close() }
	}
	h, stop := start()
	want := `{"image_schedule":{"retention":9,"day_of_week":"WEDNESDAY"}}`
	if r := h.do(t, "POST", schedulePath("tenant-a", "srv-a5"), "tok-a", []byte(`{"image_schedule": {"retention": 9, "day_of_week": "Wednesday"}}`)); r.body != want {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	stop()
	h, stop = start()
	defer stop()
	if r := h.do(t, "GET", schedulePath("tenant-a", "srv-a5"), "tok-a", nil); r.status != 200 || r.body != want {
		t.Fatalf("after restart: %d %s, want %s", r.status, r.body, want)
	}
}

func TestImportOverRESTTakesNewlineDelimitedBatches(t *testing.T) {
	h := newHarness(t)
	body := `{"schedules": [{"tenant_id": "t1", "server_id": "rest-1", "retention": 2}, {"tenant_id": "t1", "server_id": "rest-2", "retention": 0}]}
{"schedules": [{"tenant_id": "t2", "server_id": "rest-3", "retention": 5, "day_of_week": "MONDAY"}]}
`
	r := h.do(t, "POST", "/v1/schedules:import", "tok-admin", []byte(body))
	if r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var imported int
	var rejected []string
	dec := json.NewDecoder(strings.NewReader(r.body))
	for dec.More() {
		var msg struct {
			Result struct {
				Imported int `json:"imported"`
				Rejected []struct {
					ServerID string `json:"server_id"`
				} `json:"rejected"`
			} `json:"result"`
		}
		if err := dec.Decode(&msg); err != nil {
			t.Fatalf("answer %q: %v", r.body, err)
		}
		imported += msg.Result.Imported
		for _, x := range msg.Result.Rejected {
			rejected = append(rejected, x.ServerID)
		}
	}
	if imported != 2 || fmt.Sprint(rejected) != "[rest-2]" {
		t.Fatalf("imported %d, rejected %v; want 2 and [rest-2]\n%s", imported, rejected, r.body)
	}
	got := listAll(t, h, "tok-admin", &imgschedv1.ListSchedulesRequest{TenantId: "t2"})
	if fmt.Sprint(got) != "[rest-3]" {
		t.Fatalf("t2 lists %v", got)
	}
}
