package openstack

import (
	"github.com/imgsched/imgsched/cloud"
)

// serverView is the part of Nova's server body the service reads. It is
// decoded in one pass: gophercloud's servers.Server goes through a map and
// back, which was most of the API's cost per created schedule.
type serverView struct {
	Server struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		TenantID string `json:"tenant_id"`
		Status   string `json:"status"`
		// TaskState is null when the server is idle.
		TaskState *string `json:"OS-EXT-STS:task_state"`
		// Host is OS-EXT-SRV-ATTR:host, shown to admins only; HostID, the
		// hashed host every user sees, stands in for it otherwise.
		Host   string `json:"OS-EXT-SRV-ATTR:host"`
		HostID string `json:"hostId"`
		// Flavor is embedded from microversion 2.47 on; Disk is 0 before.
		Flavor struct {
			Disk int `json:"disk"`
		} `json:"flavor"`
	} `json:"server"`
}

func (v serverView) server() cloud.Server {
	s := v.Server
	host := s.Host
	if host == "" {
		host = s.HostID
	}
	out := cloud.Server{ID: s.ID, Name: s.Name, ProjectID: s.TenantID, Status: s.Status, HostID: host, DiskGB: s.Flavor.Disk}
	if s.TaskState != nil {
		out.TaskState = *s.TaskState
	}
	return out
}
