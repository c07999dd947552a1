package scheduler

import (
	"fmt"
	"time"
)

// MaxImageNameLength is the longest image name, in characters (Unicode
// code points, as Glance counts them).
const MaxImageNameLength = 255

// ImageName returns the name of the image a schedule of kind takes of
// server serverName at instant at: "daily-{name}-{unix seconds}" or
// "weekly-...", the seconds written with at least 10 digits.
//
// The server name is cut to 238 characters for daily images and 237 for
// weekly ones (SPEC §2), so the name is at most 255 characters. Characters
// are code points, never bytes: a multi-byte character is kept whole or
// dropped whole; an invalid byte counts as one character.
func ImageName(kind Kind, serverName string, at time.Time) string {
	prefix := kind.String() + "-"
	limit := MaxImageNameLength - len(prefix) - len("-") - 10
	n := 0
	for i := range serverName {
		if n == limit {
			serverName = serverName[:i]
			break
		}
		n++
	}
	return fmt.Sprintf("%s%s-%010d", prefix, serverName, at.Unix())
}
