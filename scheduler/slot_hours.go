package scheduler

// HoursOfWeek returns the hours of the week (Sunday 00:00 UTC is 0) in
// which the slot's images start: seven for a daily slot, one for a weekly
// one. Reports of planned load are built from it.
func (s Slot) HoursOfWeek() []int {
	if s.IsZero() {
		return nil
	}
	var buf [7]int
	return append([]int(nil), s.cells(&buf)...)
}
