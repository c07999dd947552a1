package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Slot is where in each window a schedule's image is taken: the part of
// the plan that is stored with the schedule and kept when the tenant
// changes only its retention.
//
// A daily slot has one hour of the UTC day per weekday (Sunday first) and
// one minute of the hour shared by all seven, so consecutive images are
// 24 h ± (difference of the two hours) apart. A weekly slot has one hour
// offset into its 48-hour window and a minute of the hour.
//
// Invariant (daily): every hour is in [0, 24), so no two images fall on one
// UTC date. The planner additionally keeps consecutive hours (Saturday to
// Sunday included) within its MaxShift; ParseSlot and Planner.Restore check
// that bound.
//
// A Slot is 10 bytes; the zero Slot is invalid.
type Slot struct {
	kind   Kind
	day    uint8    // weekly: the requested weekday
	minute uint8    // minute of the hour, [0, 60)
	hours  [7]uint8 // daily: hour of day per weekday; weekly: hours[0] is the hour offset into the window, [0, 48)
}

// Schedule returns the schedule the slot belongs to.
func (s Slot) Schedule() Schedule {
	if s.kind == Weekly {
		return WeeklySchedule(time.Weekday(s.day))
	}
	return Schedule{Kind: s.kind}
}

// IsZero reports whether s is the zero (invalid) slot.
func (s Slot) IsZero() bool { return s.kind == 0 }

// At returns the instant of the slot in window w, which must be a window of
// s's schedule. The instant always lies inside w.
func (s Slot) At(w Window) time.Time {
	m := time.Duration(s.minute) * time.Minute
	if s.kind == Weekly {
		return w.Start.Add(time.Duration(s.hours[0])*time.Hour + m)
	}
	return w.Start.Add(time.Duration(s.hours[w.Start.Weekday()])*time.Hour + m)
}

// Next returns the first window whose slot instant is strictly after t,
// and that instant.
func (s Slot) Next(t time.Time) (Window, time.Time) {
	w := s.Schedule().NextWindow(t)
	if at := s.At(w); at.After(t) {
		return w, at
	}
	w = w.Next()
	return w, s.At(w)
}

// cells returns the hours of the week (Sunday 00:00 UTC is 0) in which the
// slot's images start: seven for a daily slot, one for a weekly one.
func (s Slot) cells(buf *[7]int) []int {
	if s.kind == Weekly {
		buf[0] = weeklyCell(time.Weekday(s.day), int(s.hours[0]))
		return buf[:1]
	}
	for w := range 7 {
		buf[w] = w*24 + int(s.hours[w])
	}
	return buf[:7]
}

// weeklyCell returns the hour of the week at offset hours into the weekly
// window of day d.
func weeklyCell(d time.Weekday, offset int) int {
	return (int(d)*24 - 12 + offset + hoursPerWeek) % hoursPerWeek
}

// maxStep returns the largest difference between the hours of two
// consecutive days of a daily slot, Saturday to Sunday included.
func (s Slot) maxStep() int {
	m := 0
	for w := range 7 {
		d := int(s.hours[(w+1)%7]) - int(s.hours[w])
		m = max(m, d, -d)
	}
	return m
}

// String returns the text form: "daily :17 13,13,13,12,12,13,13" (the
// minute, then the hour of each weekday from Sunday) or
// "weekly SATURDAY +25:17" (hours and minutes after the window opens,
// here Saturday 13:17 UTC).
func (s Slot) String() string {
	switch s.kind {
	case Daily:
		var b strings.Builder
		fmt.Fprintf(&b, "daily :%02d ", s.minute)
		for w, h := range s.hours {
			if w > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(h)))
		}
		return b.String()
	case Weekly:
		return fmt.Sprintf("weekly %s +%02d:%02d", strings.ToUpper(time.Weekday(s.day).String()), s.hours[0], s.minute)
	}
	return "invalid"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (s Slot) MarshalText() ([]byte, error) {
	if s.IsZero() {
		return nil, fmt.Errorf("%w: zero slot", ErrInvalidSlot)
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; see ParseSlot.
func (s *Slot) UnmarshalText(b []byte) error {
	v, err := ParseSlot(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSlot parses the String form. It checks ranges only; the planner
// checks the day-to-day shift bound when the slot is restored.
func ParseSlot(text string) (Slot, error) {
	bad := func(why string) (Slot, error) {
		return Slot{}, fmt.Errorf("%w: %q: %s", ErrInvalidSlot, text, why)
	}
	f := strings.Fields(text)
	switch {
	case len(f) == 3 && f[0] == "daily":
		if len(f[1]) != 3 || f[1][0] != ':' {
			return bad("minute must be :MM")
		}
		m, err := strconv.Atoi(f[1][1:])
		if err != nil || m < 0 || m > 59 {
			return bad("minute out of range")
		}
		hs := strings.Split(f[2], ",")
		if len(hs) != 7 {
			return bad("need seven hours")
		}
		s := Slot{kind: Daily, minute: uint8(m)}
		for w, h := range hs {
			v, err := strconv.Atoi(h)
			if err != nil || v < 0 || v > 23 {
				return bad("hour out of range")
			}
			s.hours[w] = uint8(v)
		}
		return s, nil
	case len(f) == 3 && f[0] == "weekly":
		d, ok := parseWeekday(f[1])
		if !ok {
			return bad("unknown day")
		}
		hm, ok := strings.CutPrefix(f[2], "+")
		h, m, ok2 := strings.Cut(hm, ":")
		if !ok || !ok2 || len(h) != 2 || len(m) != 2 {
			return bad("offset must be +HH:MM")
		}
		hv, err1 := strconv.Atoi(h)
		mv, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || hv < 0 || hv >= 48 || mv < 0 || mv > 59 {
			return bad("offset out of the 48-hour window")
		}
		return Slot{kind: Weekly, day: uint8(d), minute: uint8(mv), hours: [7]uint8{uint8(hv)}}, nil
	}
	return bad("want \"daily :MM h,h,h,h,h,h,h\" or \"weekly DAY +HH:MM\"")
}

// parseWeekday accepts a weekday name in upper case ("SATURDAY").
func parseWeekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.ToUpper(d.String()) == s {
			return d, true
		}
	}
	return 0, false
}
