package api

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/imgsched/imgsched/cluster"
	imgschedv1 "github.com/imgsched/imgsched/proto/imgsched/v1"
	"github.com/imgsched/imgsched/scheduler"
)

// Cluster shows the scheduler cluster: this node's view of it, and every
// node's reported load. *cluster.Node with the store's Loads implements it
// (cmd wires them).
type Cluster interface {
	Status() cluster.Status
	Loads(ctx context.Context) (map[string]cluster.NodeLoad, error)
}

// clusterService is imgsched.v1.ClusterService, for admins.
type clusterService struct {
	imgschedv1.UnimplementedClusterServiceServer
	deps *Server
}

func (c *clusterService) check(ctx context.Context) error {
	if !callerFrom(ctx).admin() {
		return status.Errorf(codes.PermissionDenied, "cluster status needs the %s role", AdminRole)
	}
	if c.deps.cluster == nil {
		return status.Error(codes.FailedPrecondition, "this node runs without a cluster")
	}
	return nil
}

// live returns the loads of the members that are alive, so that a lost
// node's last report is not counted twice after its shards moved.
func live(st cluster.Status, loads map[string]cluster.NodeLoad) map[string]cluster.NodeLoad {
	out := make(map[string]cluster.NodeLoad, len(loads))
	for _, m := range st.Members {
		if l, ok := loads[m.Name]; ok && m.State == cluster.MemberAlive {
			out[m.Name] = l
		}
	}
	return out
}

func (c *clusterService) GetClusterStatus(ctx context.Context, _ *imgschedv1.GetClusterStatusRequest) (*imgschedv1.ClusterStatus, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	st := c.deps.cluster.Status()
	loads, err := c.deps.cluster.Loads(ctx)
	if err != nil {
		return nil, storeUnavailable(err)
	}
	out := &imgschedv1.ClusterStatus{Leader: st.Leader, Epoch: st.Epoch, Shards: uint32(st.Shards)}
	for _, m := range st.Members {
		pm := &imgschedv1.Member{
			Name: m.Name, State: string(m.State), GrpcAddress: m.GRPCAddr, RestAddress: m.RESTAddr,
			Capacity: m.Capacity, Leader: m.Name == st.Leader,
			ShardsAssigned: uint32(m.Assigned), ShardsOwned: uint32(m.Claimed),
		}
		if l, ok := loads[m.Name]; ok {
			pm.Schedules, pm.RunsInFlight = uint32(l.Schedules), uint32(l.InFlight)
			pm.UpdateTime = timestamppb.New(l.At)
		}
		out.Members = append(out.Members, pm)
	}
	// Newest first, as the API promises.
	for _, f := range slices.Backward(st.Failovers) {
		pf := &imgschedv1.Failover{Kind: string(f.Kind), From: f.From, Shards: uint32(f.Shards), DetectTime: timestamppb.New(f.Since)}
		pf.To = strings.Join(f.To, ",")
		if !f.Done.IsZero() {
			pf.Took = durationpb.New(f.Took)
		}
		out.Failovers = append(out.Failovers, pf)
	}
	return out, nil
}

func (c *clusterService) GetLoadHistogram(ctx context.Context, _ *imgschedv1.GetLoadHistogramRequest) (*imgschedv1.LoadHistogram, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	loads, err := c.deps.cluster.Loads(ctx)
	if err != nil {
		return nil, storeUnavailable(err)
	}
	var hist scheduler.Histogram
	var demand scheduler.Demand
	for _, l := range live(c.deps.cluster.Status(), loads) {
		hist.Add(scheduler.Histogram{Creations: l.Creations, InFlight: l.InFlightMinutes})
		demand.Add(scheduler.Demand{Daily: l.DemandDaily, Weekly: l.DemandWeekly})
	}
	out := &imgschedv1.LoadHistogram{Flatness: hist.Flatness(), Bound: demand.Bound()}
	for h := range hist.Creations {
		out.Creations = append(out.Creations, uint32(hist.Creations[h]))
		out.InFlightMinutes = append(out.InFlightMinutes, float64(hist.InFlight[h]))
	}
	return out, nil
}
