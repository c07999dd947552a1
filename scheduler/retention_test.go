package scheduler_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/imgsched/imgsched/scheduler"
)

const server = "d615a437-aaa9-4a52-a1c0-5bcb0d33038c"

// scheduled returns an ACTIVE image the service took of srv, hours after epoch.
func scheduled(id, srv string, hours int) scheduler.Image {
	return scheduler.Image{
		ID: id, Status: "active", CreatedAt: epoch.Add(time.Duration(hours) * time.Hour),
		Properties: map[string]string{scheduler.PropertyCreatedBy: scheduler.CreatedByService, scheduler.PropertyInstanceUUID: srv},
	}
}

func TestRetention(t *testing.T) {
	manual := scheduler.Image{ID: "manual", Status: "ACTIVE", CreatedAt: epoch, Properties: map[string]string{scheduler.PropertyInstanceUUID: server}}
	unmarked := scheduled("unmarked", server, 0)
	unmarked.Properties = map[string]string{scheduler.PropertyInstanceUUID: server}
	otherValue := scheduled("other-value", server, 0)
	otherValue.Properties = map[string]string{scheduler.PropertyCreatedBy: "someone_else", scheduler.PropertyInstanceUUID: server}
	saving := scheduled("saving", server, 0)
	saving.Status = "saving"
	killed := scheduled("killed", server, -1)
	killed.Status = "killed"
	upper := scheduled("upper", server, 1)
	upper.Status = "ACTIVE"
	tests := []struct {
		name    string
		keep    int
		images  []scheduler.Image
		deleted []string
		ignored map[string]scheduler.Verdict
	}{
		{
			name:    "the oldest scheduled images past the retention are deleted",
			keep:    2,
			images:  []scheduler.Image{scheduled("a", server, 1), scheduled("c", server, 3), scheduled("b", server, 2), scheduled("d", server, 0)},
			deleted: []string{"a", "d"},
		},
		{
			name:    "nothing is deleted within the retention",
			keep:    7,
			images:  []scheduler.Image{scheduled("a", server, 1), scheduled("b", server, 2)},
			deleted: nil,
		},
		{
			name:    "manual snapshots are never deleted nor counted",
			keep:    1,
			images:  []scheduler.Image{manual, scheduled("a", server, 1), scheduled("b", server, 2)},
			deleted: []string{"a"},
			ignored: map[string]scheduler.Verdict{"manual": scheduler.VerdictIgnoreNotOurs},
		},
		{
			name:    "other servers' scheduled images are never deleted",
			keep:    1,
			images:  []scheduler.Image{scheduled("x", "other", 0), scheduled("y", "other", 9), scheduled("a", server, 1)},
			deleted: nil,
			ignored: map[string]scheduler.Verdict{"x": scheduler.VerdictIgnoreOtherServer, "y": scheduler.VerdictIgnoreOtherServer},
		},
		{
			name:    "an image whose created_by marker was removed or changed is kept",
			keep:    1,
			images:  []scheduler.Image{unmarked, otherValue, scheduled("a", server, 1), scheduled("b", server, 2)},
			deleted: []string{"a"},
			ignored: map[string]scheduler.Verdict{"unmarked": scheduler.VerdictIgnoreNotOurs, "other-value": scheduler.VerdictIgnoreNotOurs},
		},
		{
			name:    "images that are not ACTIVE are neither deleted nor counted",
			keep:    1,
			images:  []scheduler.Image{saving, killed, scheduled("a", server, 1)},
			deleted: nil,
			ignored: map[string]scheduler.Verdict{"saving": scheduler.VerdictIgnoreNotActive, "killed": scheduler.VerdictIgnoreNotActive},
		},
		{
			name:    "ACTIVE is matched in any letter case",
			keep:    1,
			images:  []scheduler.Image{upper, scheduled("b", server, 2)},
			deleted: []string{"upper"},
		},
		{
			name:    "a lowered retention deletes more at the next completed image",
			keep:    1,
			images:  []scheduler.Image{scheduled("a", server, 1), scheduled("b", server, 2), scheduled("c", server, 3)},
			deleted: []string{"b", "a"},
		},
		{
			name:    "images created at the same instant are ordered by id",
			keep:    1,
			images:  []scheduler.Image{scheduled("z", server, 1), scheduled("m", server, 1)},
			deleted: []string{"z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := scheduler.Retention(server, tt.keep, tt.images)
			if err != nil {
				t.Fatal(err)
			}
			if got := scheduler.Deletions(ds); !slices.Equal(got, tt.deleted) {
				t.Errorf("deleted %v, want %v", got, tt.deleted)
			}
			if len(ds) != len(tt.images) {
				t.Errorf("%d decisions for %d images", len(ds), len(tt.images))
			}
			for _, d := range ds {
				if d.Reason == "" {
					t.Errorf("%s: no reason", d.Image.ID)
				}
				if want, ok := tt.ignored[d.Image.ID]; ok && d.Verdict != want {
					t.Errorf("%s: verdict %v, want %v", d.Image.ID, d.Verdict, want)
				}
				if d.Verdict == scheduler.VerdictDelete && (d.Image.Properties[scheduler.PropertyCreatedBy] != scheduler.CreatedByService || d.Image.Properties[scheduler.PropertyInstanceUUID] != server) {
					t.Errorf("would delete %s, which is not this server's scheduled image", d.Image.ID)
				}
			}
		})
	}
}

func TestARetentionBelowOneIsRefused(t *testing.T) {
	if _, err := scheduler.Retention(server, 0, []scheduler.Image{scheduled("a", server, 1)}); !errors.Is(err, scheduler.ErrInvalidRetention) {
		t.Fatalf("err = %v, want ErrInvalidRetention", err)
	}
}

func TestMetadataMarksTheImageAsOursWithRunAndAttempt(t *testing.T) {
	m := scheduler.Metadata("srv/daily/2026-11-22", 2)
	if m[scheduler.PropertyCreatedBy] != scheduler.CreatedByService || m[scheduler.PropertyRunID] != "srv/daily/2026-11-22" || m[scheduler.PropertyAttempt] != "2" {
		t.Fatalf("Metadata = %v", m)
	}
}
