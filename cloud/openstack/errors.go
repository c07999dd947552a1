package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/imgsched/imgsched/cloud"
)

// statusErrors says which cloud error an HTTP status means for one call; a
// nil entry keeps gophercloud's error as it is.
type statusErrors struct {
	notFound error // 404
	conflict error // 409
}

var (
	serverErrors = statusErrors{notFound: cloud.ErrServerGone, conflict: cloud.ErrServerBusy}
	imageErrors  = statusErrors{notFound: cloud.ErrNotFound}
)

// mapError turns a gophercloud failure into one that wraps the matching
// error of package cloud as well as the cause. Transient errors and context
// errors pass through unchanged.
func mapError(err error, m statusErrors) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, cloud.ErrTransient) {
		return err
	}
	if reauth := unableToReauthenticate(err); reauth != nil {
		// The token expired and a new one could not be had: the credential
		// or trust is no longer good, unless Keystone was merely unavailable.
		if errors.Is(reauth.ErrReauth, cloud.ErrTransient) ||
			errors.Is(reauth.ErrReauth, context.Canceled) ||
			errors.Is(reauth.ErrReauth, context.DeadlineExceeded) {
			return fmt.Errorf("openstack: reauthenticate: %w", reauth.ErrReauth)
		}
		return fmt.Errorf("%w: %w", cloud.ErrUnauthorized, err)
	}
	code, ok := responseError(err)
	if !ok {
		return err
	}
	var typed error
	switch code.Actual {
	case http.StatusUnauthorized:
		typed = cloud.ErrUnauthorized
	case http.StatusForbidden:
		typed = cloud.ErrForbidden
	case http.StatusNotFound:
		typed = m.notFound
	case http.StatusConflict:
		typed = m.conflict
	}
	if typed == nil {
		return err
	}
	return fmt.Errorf("%w: %w", typed, err)
}

func unableToReauthenticate(err error) *gophercloud.ErrUnableToReauthenticate {
	var p *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &p) && p != nil {
		return p
	}
	var v gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &v) {
		return &v
	}
	return nil
}
