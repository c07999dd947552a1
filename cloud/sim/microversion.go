package sim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Nova microversions served: 2.1 up to maxMinor. Behaviour changes that
// matter to snapshot clients are implemented: 2.45 (createImage answers
// {"image_id"} instead of a Location header) and 2.47 (the server's flavor
// is embedded, with its disk size).
const (
	minMinor = 1
	maxMinor = 96
)

// microversion reads the requested compute microversion (minor number of
// 2.x) from OpenStack-API-Version or X-OpenStack-Nova-API-Version.
func microversion(r *http.Request) (int, error) {
	v := ""
	for _, h := range r.Header.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(h, ",") {
			f := strings.Fields(part)
			if len(f) == 2 && strings.EqualFold(f[0], "compute") {
				v = f[1]
			}
		}
	}
	if v == "" {
		v = strings.TrimSpace(r.Header.Get("X-OpenStack-Nova-API-Version"))
	}
	switch {
	case v == "":
		return minMinor, nil
	case strings.EqualFold(v, "latest"):
		return maxMinor, nil
	}
	major, minor, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	if !ok || major != "2" || err != nil {
		return 0, fmt.Errorf("Invalid API version request string %s", v)
	}
	if n < minMinor || n > maxMinor {
		return 0, fmt.Errorf("Version %s is not supported by the API. Minimum is 2.%d and maximum is 2.%d.", v, minMinor, maxMinor)
	}
	return n, nil
}
