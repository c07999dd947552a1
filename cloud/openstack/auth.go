package openstack

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
)

// credentials resolves the service credentials and catalog options: from
// Config.Auth, else clouds.yaml, else the OS_* variables. Config.Region and
// Config.Interface override what those say.
func (c Config) credentials() (gophercloud.AuthOptions, gophercloud.EndpointOpts, *tls.Config, error) {
	var (
		ao      gophercloud.AuthOptions
		eo      gophercloud.EndpointOpts
		tlsConf *tls.Config
		err     error
	)
	switch {
	case c.Auth != nil:
		ao = *c.Auth
	case c.Cloud != "" || c.CloudsFile != "" || os.Getenv("OS_CLOUD") != "":
		var opts []clouds.ParseOption
		if c.Cloud != "" {
			opts = append(opts, clouds.WithCloudName(c.Cloud))
		}
		if c.CloudsFile != "" {
			opts = append(opts, clouds.WithLocations(c.CloudsFile))
		}
		ao, eo, tlsConf, err = clouds.Parse(opts...)
		if err != nil {
			return ao, eo, nil, fmt.Errorf("openstack: read clouds.yaml: %w", err)
		}
	default:
		ao, err = credentialsFromEnv()
		if err != nil {
			return ao, eo, nil, fmt.Errorf("openstack: read OS_* variables: %w", err)
		}
		eo.Region = os.Getenv("OS_REGION_NAME")
		eo.Availability = availability(os.Getenv("OS_INTERFACE"))
	}
	if ao.IdentityEndpoint == "" {
		return ao, eo, nil, fmt.Errorf("openstack: no auth URL in the service credentials")
	}
	if c.Region != "" {
		eo.Region = c.Region
	}
	if c.Interface != "" {
		eo.Availability = availability(c.Interface)
	}
	// Reauthenticate when the token expires; gophercloud refuses reauth for
	// a bare token, which cannot be renewed anyway.
	ao.AllowReauth = ao.TokenID == ""
	return ao, eo, tlsConf, nil
}

func availability(iface string) gophercloud.Availability {
	switch iface {
	case "internal", "internalURL":
		return gophercloud.AvailabilityInternal
	case "admin", "adminURL":
		return gophercloud.AvailabilityAdmin
	default:
		return gophercloud.AvailabilityPublic
	}
}
