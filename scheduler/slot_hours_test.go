package scheduler

import (
	"fmt"
	"testing"
)

func TestHoursOfWeekNamesTheHourOfEachImage(t *testing.T) {
	for _, tc := range []struct {
		slot string
		want []int
	}{
		{"daily :17 13,13,13,12,12,13,13", []int{13, 37, 61, 84, 108, 133, 157}},
		// Saturday's window opens Friday 12:00 (hour 132); +25 h is Saturday 13:00.
		{"weekly SATURDAY +25:17", []int{157}},
	} {
		t.Run(tc.slot, func(t *testing.T) {
			s, err := ParseSlot(tc.slot)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.HoursOfWeek(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("hours %v, want %v", got, tc.want)
			}
		})
	}
	if got := (Slot{}).HoursOfWeek(); got != nil {
		t.Fatalf("the zero slot has hours %v", got)
	}
}
