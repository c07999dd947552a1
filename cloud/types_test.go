package cloud

import (
	"errors"
	"testing"
)

func TestImageStatusPredicates(t *testing.T) {
	tests := []struct {
		status                  string
		active, pending, failed bool
	}{
		{"queued", false, true, false},
		{"saving", false, true, false},
		{"SAVING", false, true, false},
		{"active", true, false, false},
		{"ACTIVE", true, false, false},
		{"killed", false, false, true},
		{"error", false, false, true},
		{"ERROR", false, false, true},
		{"deleted", false, false, false},
	}
	for _, tt := range tests {
		t.Run("status "+tt.status, func(t *testing.T) {
			img := Image{ID: "i1", Status: tt.status}
			if img.Active() != tt.active || img.Pending() != tt.pending || img.Failed() != tt.failed {
				t.Errorf("Active, Pending, Failed = %v, %v, %v; want %v, %v, %v",
					img.Active(), img.Pending(), img.Failed(), tt.active, tt.pending, tt.failed)
			}
			if got := errors.Is(img.Err(), ErrImageFailed); got != tt.failed {
				t.Errorf("errors.Is(Err(), ErrImageFailed) = %v, want %v", got, tt.failed)
			}
		})
	}
}

func TestScheduledNeedsBothTheMarkerAndTheServer(t *testing.T) {
	marked := map[string]string{CreatedByKey: CreatedByValue}
	tests := []struct {
		name string
		img  Image
		want bool
	}{
		{"an image of the server with the marker is scheduled", Image{ServerID: "s1", Properties: marked}, true},
		{"an image of another server is not", Image{ServerID: "s2", Properties: marked}, false},
		{"a manual snapshot without the marker is not", Image{ServerID: "s1", Properties: map[string]string{}}, false},
		{"an image whose marker was changed is not", Image{ServerID: "s1", Properties: map[string]string{CreatedByKey: "someone"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.img.Scheduled("s1"); got != tt.want {
				t.Errorf("Scheduled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHasRoleIgnoresLetterCase(t *testing.T) {
	id := Identity{Roles: []string{"member", "Reader"}}
	for role, want := range map[string]bool{"member": true, "MEMBER": true, "reader": true, "admin": false, "": false} {
		if got := id.HasRole(role); got != want {
			t.Errorf("HasRole(%q) = %v, want %v", role, got, want)
		}
	}
}
