package openstack

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/imgsched/imgsched/cloud"
)

// imageQuery is a Glance listing filtered on image properties, which
// Glance accepts as plain query parameters (images.ListOpts has no field for
// them).
type imageQuery struct {
	props url.Values
	limit int
}

// ToImageListQuery implements images.ListOptsBuilder.
func (q imageQuery) ToImageListQuery() (string, error) {
	v := url.Values{}
	for k, vs := range q.props {
		v[k] = vs
	}
	v.Set("limit", strconv.Itoa(q.limit))
	return "?" + v.Encode(), nil
}

// listImages returns the service's images of serverID that also match
// extra, following Glance's pagination to the last page, newest first.
func (s *session) listImages(ctx context.Context, serverID string, extra map[string]string) ([]cloud.Image, error) {
	props := url.Values{}
	props.Set(cloud.InstanceUUIDKey, serverID)
	props.Set(cloud.CreatedByKey, cloud.CreatedByValue)
	for k, v := range extra {
		props.Set(k, v)
	}
	var out []cloud.Image
	seen := map[string]bool{}
	err := images.List(s.image, imageQuery{props: props, limit: s.pageSize}).EachPage(ctx,
		func(_ context.Context, page pagination.Page) (bool, error) {
			list, err := images.ExtractImages(page)
			if err != nil {
				return false, err
			}
			for i := range list {
				img := toImage(&list[i])
				if img.Scheduled(serverID) && matches(img, extra) {
					out = append(out, img)
				}
			}
			next, err := page.NextPageURL()
			if err != nil {
				return false, err
			}
			if next != "" && seen[next] {
				return false, fmt.Errorf("glance returned the page %s twice", next)
			}
			seen[next] = true
			return true, nil
		})
	if err != nil {
		return nil, mapError(err, imageErrors)
	}
	slices.SortStableFunc(out, func(a, b cloud.Image) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

func matches(img cloud.Image, props map[string]string) bool {
	for k, v := range props {
		if img.Properties[k] != v {
			return false
		}
	}
	return true
}

// toImage converts Glance's view of an image, keeping its string-valued
// additional properties.
func toImage(img *images.Image) cloud.Image {
	props := make(map[string]string, len(img.Properties))
	for k, v := range img.Properties {
		if s, ok := v.(string); ok {
			props[k] = s
		}
	}
	return cloud.Image{
		ID:         img.ID,
		Name:       img.Name,
		ServerID:   props[cloud.InstanceUUIDKey],
		Owner:      img.Owner,
		Status:     string(img.Status),
		Properties: props,
		CreatedAt:  img.CreatedAt,
		UpdatedAt:  img.UpdatedAt,
		SizeBytes:  img.SizeBytes,
	}
}
