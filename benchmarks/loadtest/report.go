package loadtest

import (
	"encoding/json"
	"time"

	"github.com/imgsched/imgsched/benchmarks/check"
)

// Report is what a run measured, as written to report.json. Times named
// "simulated" are on the shared accelerated clock; durations in seconds
// are real unless their name says simulated.
type Report struct {
	// Command is how the run was started, for the record (set by the
	// caller).
	Command string `json:"command,omitempty"`
	// Preset names the configuration's preset, when it came from one.
	Preset string `json:"preset,omitempty"`
	// Setup is the configuration, summarised.
	Setup Setup `json:"setup"`
	// Started is the real time the run began; WallSeconds its length.
	Started     time.Time `json:"started"`
	WallSeconds float64   `json:"wall_seconds"`
	// Period is the checked span of simulated time.
	Period Period `json:"period"`
	// Import is the bulk import of the fleet.
	Import Import `json:"import"`
	// Flatness compares creations per hour with their lower bound.
	Flatness Flatness `json:"flatness"`
	// Lateness is from each run's planned slot to its first image
	// request, in simulated seconds, summed over the nodes' last lives.
	Lateness Lateness `json:"lateness"`
	// Nodes are the scheduler nodes at the end.
	Nodes []NodeReport `json:"nodes"`
	// Processes is the CPU time and peak memory of every process the run
	// started (each life of a restarted node apart), and of the bench
	// process itself, which hosts etcd.
	Processes []usage `json:"processes"`
	// Faults are the timetable's faults as they happened.
	Faults []Fault `json:"faults"`
	// ClusterFailovers are the failovers the cluster recorded itself
	// (GET /v1/cluster/status), newest first.
	ClusterFailovers []ClusterFailover `json:"cluster_failovers"`
	// Check is SPEC §3's verdict over every image of the period.
	Check check.Report `json:"check"`
	// RepeatedListings counts image records the cloud's listing repeated
	// (same id), dropped before the check.
	RepeatedListings int `json:"repeated_listings"`
	// Offenders are the first servers that broke an invariant, with
	// their images and run history.
	Offenders []Offender `json:"offenders,omitempty"`
	// OK is true when no invariant broke.
	OK bool `json:"ok"`
	// WorkDir holds the processes' logs when it was kept.
	WorkDir string `json:"work_dir,omitempty"`
}

// Setup is a Config in the report's terms.
type Setup struct {
	Servers      int     `json:"servers"`
	Projects     int     `json:"projects"`
	Schedules    int     `json:"schedules"`
	Daily        int     `json:"daily"`
	Weekly       [7]int  `json:"weekly_by_day"` // Sunday first
	Nodes        int     `json:"nodes"`
	Shards       int     `json:"shards"`
	Mix          Mix     `json:"mix"`
	Retention    [2]int  `json:"retention_range"`
	TimeScale    float64 `json:"time_scale"`
	Days         int     `json:"days"`
	Timetable    string  `json:"timetable"`
	Seed         int64   `json:"seed"`
	CPUs         int     `json:"cpus"`
	GoVersion    string  `json:"go_version"`
	BinaryPath   string  `json:"binary"`
	ImportBatch  int     `json:"import_batch"`
	ClusterTimes string  `json:"cluster_timings"`
}

// Period is the checked span and when the images were read.
type Period struct {
	SimulatedStart time.Time `json:"simulated_start"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	Observed       time.Time `json:"observed"`
}

// Import is the bulk import's throughput.
type Import struct {
	Schedules int     `json:"schedules"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// ListSeconds is how long listing the servers took (Nova, all tenants).
	ListSeconds float64 `json:"list_seconds"`
}

// Flatness is the busiest hour over the mean hour, executed and planned,
// beside the lowest value any placement could reach.
type Flatness struct {
	// Executed is over the image creations of the checked period's hours;
	// Hourly holds them, from HourlyFrom.
	Executed   float64   `json:"executed"`
	Hourly     []int     `json:"hourly"`
	HourlyFrom time.Time `json:"hourly_from"`
	// PlannedPeriod is the planned creations' flatness over the same
	// hours of the week, the figure Executed should match.
	PlannedPeriod float64 `json:"planned_period"`
	// PlannedWeek and Bound are GET /v1/cluster/load's: the week's planned
	// flatness and the bound the schedules' windows allow.
	PlannedWeek float64 `json:"planned_week"`
	Bound       float64 `json:"bound"`
	// MixBound is scheduler.Demand.Bound of the imported fleet, computed
	// here; it must equal Bound.
	MixBound float64 `json:"mix_bound"`
	// Planned is the week's planned creations per hour, Sunday 00:00 UTC
	// first.
	Planned []int64 `json:"planned"`
}

// Lateness summarises the engine's start-lateness histogram.
type Lateness struct {
	Count   float64  `json:"count"`
	Mean    float64  `json:"mean_seconds"`
	P50     float64  `json:"p50_seconds"`
	P90     float64  `json:"p90_seconds"`
	P99     float64  `json:"p99_seconds"`
	Buckets []Bucket `json:"buckets"` // cumulative
}

// NodeReport is one node's share of the work and what it cost.
type NodeReport struct {
	Name        string             `json:"name"`
	Up          bool               `json:"up"`
	Starts      int                `json:"starts"`
	Schedules   int                `json:"schedules"`
	ShardsOwned int                `json:"shards_owned"`
	Runs        map[string]float64 `json:"runs"`
	CPUSeconds  float64            `json:"cpu_seconds"`   // this life, from /metrics
	RSSBytes    float64            `json:"rss_bytes"`     // at the end, from /metrics
	MaxRSSBytes int64              `json:"max_rss_bytes"` // peak over every life
	Lateness    Lateness           `json:"lateness"`
}

// Fault is one timetable entry as it happened.
type Fault struct {
	Node   string `json:"node"`
	Signal Signal `json:"signal"`
	// At and RestartAt are simulated; OwnedAgain is the real time from the
	// signal to every shard owned by the others, Rejoined from the restart
	// to every node owning shards again (0 when not restarted).
	At         time.Time `json:"at"`
	RestartAt  time.Time `json:"restart_at,omitzero"`
	OwnedAgain float64   `json:"owned_again_seconds"`
	Rejoined   float64   `json:"rejoined_seconds,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// ClusterFailover is one failover the cluster recorded.
type ClusterFailover struct {
	Kind   string `json:"kind"`
	From   string `json:"from"`
	To     string `json:"to"`
	Took   string `json:"took"`
	Shards int    `json:"shards"`
}

// Offender is a server that broke an invariant, as the cloud and the
// cluster saw it.
type Offender struct {
	ServerID string          `json:"server_id"`
	Images   []check.Image   `json:"images"`
	Runs     json.RawMessage `json:"runs"` // GET /v1/servers/{id}/runs
}
