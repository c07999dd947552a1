package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/imgsched/imgsched/api"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
)

// clientFlags are shared by the commands that talk to a node.
type clientFlags struct {
	addr    string
	token   string
	osCloud string
	output  string
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.addr, "addr", "127.0.0.1:9090", "gRPC address of an imgsched node")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "Keystone token; without it one is obtained from clouds.yaml (--os-cloud)")
	cmd.PersistentFlags().StringVar(&f.osCloud, "os-cloud", os.Getenv("OS_CLOUD"), "cloud of clouds.yaml to authenticate with (OS_CLIENT_CONFIG_FILE names the file)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

// client is a connection to a node with a token in every call's metadata.
type client struct {
	conn   *grpc.ClientConn
	native imgschedv1.ScheduleServiceClient
	ctx    context.Context
}

func (f *clientFlags) dial(ctx context.Context) (*client, error) {
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("--output %q: use table or json", f.output)
	}
	token := f.token
	if token == "" {
		var err error
		if token, err = tokenFromClouds(ctx, f.osCloud); err != nil {
			return nil, err
		}
	}
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", f.addr, err)
	}
	return &client{
		conn:   conn,
		native: imgschedv1.NewScheduleServiceClient(conn),
		ctx:    metadata.AppendToOutgoingContext(ctx, api.TokenMetadataKey, token),
	}, nil
}

func (c *client) Close() error { return c.conn.Close() }

// call dials the node, runs fn with the client and closes it; gRPC errors
// come back as messages for a person.
func (f *clientFlags) call(ctx context.Context, fn func(c *client) error) error {
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return describe(fn(c))
}

// tokenFromClouds authenticates with the credentials of a clouds.yaml entry.
func tokenFromClouds(ctx context.Context, cloud string) (string, error) {
	if cloud == "" {
		return "", errors.New("no credentials: pass --token (IMGSCHED_TOKEN) or --os-cloud (OS_CLOUD) with a clouds.yaml")
	}
	ao, _, _, err := clouds.Parse(clouds.WithCloudName(cloud))
	if err != nil {
		return "", fmt.Errorf("read clouds.yaml for cloud %q: %w", cloud, err)
	}
	provider, err := openstack.AuthenticatedClient(ctx, ao)
	if err != nil {
		return "", fmt.Errorf("authenticate as cloud %q: %w", cloud, err)
	}
	return provider.Token(), nil
}
