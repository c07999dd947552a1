package sim

import (
	"encoding/json"
	"net/http"
)

// adminImages streams every image the cloud holds, and every one it deleted
// when deletions are recorded, as newline-delimited JSON, so that a checker
// in another process sees the cloud's whole history: which images were
// created for each server and window, and which were deleted.
func (c *Cloud) adminImages(w http.ResponseWriter, _ *http.Request) {
	live, deleted := c.Images(), c.DeletedImages()
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, set := range [][]Image{live, deleted} {
		for _, im := range set {
			if err := enc.Encode(im); err != nil {
				return
			}
		}
	}
}
