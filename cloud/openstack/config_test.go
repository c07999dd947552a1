package openstack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestZeroConfigGetsTheDocumentedDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	want := DefaultConfig()
	if got.RequestTimeout != want.RequestTimeout || got.Retry != want.Retry || got.Tenancy != TenancyTrust ||
		got.ComputeMicroversion != "2.47" || got.ImagePageSize != want.ImagePageSize ||
		got.TokenCache != want.TokenCache || got.TrustClients != want.TrustClients ||
		got.Logger == nil || got.Clock == nil || got.Sleep == nil {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", got, want)
	}
	if got := (Config{Retry: RetryPolicy{MaxRetries: -1}}).withDefaults().Retry.MaxRetries; got != 0 {
		t.Errorf("MaxRetries -1 became %d, want 0 (no retries)", got)
	}
}

func TestInvalidConfigIsRejected(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"an unknown tenancy", Config{Tenancy: "shared"}, "unknown tenancy"},
		{"an unknown interface", Config{Interface: "private"}, "unknown endpoint interface"},
		{"a max backoff below the base", Config{Retry: RetryPolicy{BaseBackoff: time.Minute, MaxBackoff: time.Second}}, "below base backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.withDefaults().validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDefaultSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if err := sleep(t.Context(), time.Nanosecond); err != nil {
		t.Errorf("sleep(1ns) = %v", err)
	}
}
