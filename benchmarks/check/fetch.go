package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// FetchSimImages reads every image, live and deleted, from a simulated
// cloud's GET /admin/images (newline-delimited JSON); adminToken must carry
// the admin role. Deleted images appear only when the cloud records
// deletions (cloudsim --record-deletions).
func FetchSimImages(ctx context.Context, cloudURL, adminToken string) ([]Image, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cloudURL+"/admin/images", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("check: fetch images: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("check: fetch images: %s: %s", resp.Status, b)
	}
	dec := json.NewDecoder(resp.Body)
	var out []Image
	for {
		var im Image
		err := dec.Decode(&im)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("check: decode image: %w", err)
		}
		out = append(out, im)
	}
}
