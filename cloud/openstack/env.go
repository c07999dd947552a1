package openstack

import (
	"errors"
	"fmt"
	"os"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// credentialsFromEnv reads the OS_* variables. gophercloud's
// AuthOptionsFromEnv knows only OS_DOMAIN_*, while the openrc files of
// Horizon and devstack set OS_USER_DOMAIN_* and OS_PROJECT_DOMAIN_*; when
// those are present they decide the user's domain and the project scope.
func credentialsFromEnv() (gophercloud.AuthOptions, error) {
	env := os.Getenv
	userDomainID, userDomainName := env("OS_USER_DOMAIN_ID"), env("OS_USER_DOMAIN_NAME")
	projDomainID, projDomainName := env("OS_PROJECT_DOMAIN_ID"), env("OS_PROJECT_DOMAIN_NAME")
	if userDomainID == "" && userDomainName == "" && projDomainID == "" && projDomainName == "" {
		return openstack.AuthOptionsFromEnv()
	}
	// The user's domain, by ID or else by name; the project's defaults to it.
	userDomainID = first(userDomainID, env("OS_DOMAIN_ID"))
	if userDomainID == "" {
		userDomainName = first(userDomainName, env("OS_DOMAIN_NAME"))
	} else {
		userDomainName = ""
	}
	if projDomainID == "" && projDomainName == "" {
		projDomainID, projDomainName = userDomainID, userDomainName
	}
	ao := gophercloud.AuthOptions{
		IdentityEndpoint:            env("OS_AUTH_URL"),
		Username:                    env("OS_USERNAME"),
		UserID:                      first(env("OS_USER_ID"), env("OS_USERID")),
		Password:                    env("OS_PASSWORD"),
		DomainID:                    userDomainID,
		DomainName:                  userDomainName,
		ApplicationCredentialID:     env("OS_APPLICATION_CREDENTIAL_ID"),
		ApplicationCredentialName:   env("OS_APPLICATION_CREDENTIAL_NAME"),
		ApplicationCredentialSecret: env("OS_APPLICATION_CREDENTIAL_SECRET"),
	}
	if ao.UserID != "" { // a user ID needs no domain, and gophercloud refuses both
		ao.DomainID, ao.DomainName = "", ""
	}
	if ao.IdentityEndpoint == "" {
		return ao, errors.New("missing environment variable OS_AUTH_URL")
	}
	if ao.Username == "" && ao.UserID == "" && ao.ApplicationCredentialID == "" {
		return ao, errors.New("missing environment variable OS_USERNAME or OS_USER_ID")
	}
	if projectID := first(env("OS_PROJECT_ID"), env("OS_TENANT_ID")); projectID != "" {
		ao.Scope = &gophercloud.AuthScope{ProjectID: projectID}
	} else if name := first(env("OS_PROJECT_NAME"), env("OS_TENANT_NAME")); name != "" {
		scope := &gophercloud.AuthScope{ProjectName: name, DomainID: projDomainID}
		if scope.DomainID == "" {
			scope.DomainName = projDomainName
		}
		if scope.DomainID == "" && scope.DomainName == "" {
			return ao, fmt.Errorf("project %q needs OS_PROJECT_DOMAIN_ID or OS_PROJECT_DOMAIN_NAME", name)
		}
		ao.Scope = scope
	}
	return ao, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
