package loadtest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseTimetable(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Kill
		err  string
	}{
		{"an empty string is an empty timetable", "", nil, ""},
		{"a kill with a restart reads every field", "8h:2:KILL:2h", []Kill{{At: 8 * time.Hour, Node: 2, Signal: SignalKill, Restart: 2 * time.Hour}}, ""},
		{"signals take any case and the SIG prefix", "1h30m:1:sigterm, 20h:3:Stop:10m",
			[]Kill{{At: 90 * time.Minute, Node: 1, Signal: SignalTerm}, {At: 20 * time.Hour, Node: 3, Signal: SignalStop, Restart: 10 * time.Minute}}, ""},
		{"an unknown signal is refused", "1h:1:HUP", nil, `signal "HUP"`},
		{"a node must be a number", "1h:two:KILL", nil, `node "two"`},
		{"a bad duration names the field", "soon:1:KILL", nil, "at:"},
		{"too few fields are refused", "1h:1", nil, "want at:node:signal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTimetable(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("ParseTimetable(%q) = %v, %v; want an error containing %q", c.in, got, err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseTimetable(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
		})
	}
}

func TestFormatTimetableIsReadBackUnchanged(t *testing.T) {
	ks := Smoke().Kills
	ks = append(ks, Kill{At: time.Hour, Node: 1, Signal: SignalStop, Restart: time.Minute})
	got, err := ParseTimetable(FormatTimetable(ks))
	if err != nil || !reflect.DeepEqual(got, ks) {
		t.Fatalf("round trip of %q gave %+v, %v", FormatTimetable(ks), got, err)
	}
}

func TestValidateRejectsImpossibleFaults(t *testing.T) {
	cases := []struct {
		name string
		kill Kill
		err  string
	}{
		{"a node outside the cluster", Kill{At: time.Hour, Node: 4, Signal: SignalKill}, "node 4"},
		{"a fault after the period", Kill{At: 25 * time.Hour, Node: 1, Signal: SignalKill}, "outside"},
		{"a stop that never continues", Kill{At: time.Hour, Node: 1, Signal: SignalStop}, "restart delay"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Smoke()
			cfg.Binary, cfg.OutDir = "imgsched", t.TempDir()
			cfg.Kills = []Kill{c.kill}
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.err)
			}
		})
	}
}

func TestPresetsAreValid(t *testing.T) {
	for _, name := range []string{"smoke", "full"} {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Binary, cfg.OutDir = "imgsched", t.TempDir()
		if err := cfg.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := Preset("huge"); err == nil {
		t.Error("an unknown preset was accepted")
	}
}
