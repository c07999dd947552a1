package sim

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

func (c *Cloud) routeGlance(mux *http.ServeMux) {
	for _, p := range []string{"/image", "/image/{$}", "/image/versions", "/image/v2", "/image/v2/{$}"} {
		mux.HandleFunc("GET "+p, c.glanceVersions)
	}
	mux.HandleFunc("GET /image/v2/images", c.glance(c.listImages))
	mux.HandleFunc("GET /image/v2/images/{id}", c.glance(c.showImage))
	mux.HandleFunc("PATCH /image/v2/images/{id}", c.glance(c.patchImage))
	mux.HandleFunc("DELETE /image/v2/images/{id}", c.glance(c.deleteImage))
	mux.HandleFunc("GET /image/v2/schemas/image", c.glance(c.imageSchema))
	mux.HandleFunc("GET /image/v2/schemas/images", c.glance(c.imageSchema))
}

// glance wraps an image handler with the transport faults and token
// authentication.
func (c *Cloud) glance(h func(http.ResponseWriter, *http.Request, caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.faulted(w, false) {
			return
		}
		k, ok := c.authenticate(w, r)
		if !ok {
			return
		}
		h(w, r, k)
	}
}

func (c *Cloud) glanceVersions(w http.ResponseWriter, r *http.Request) {
	base := c.base(r)
	var vs []any
	for minor := 16; minor >= 0; minor-- {
		status := "SUPPORTED"
		if minor == 16 {
			status = "CURRENT"
		}
		vs = append(vs, map[string]any{
			"id": fmt.Sprintf("v2.%d", minor), "status": status,
			"links": []any{map[string]any{"rel": "self", "href": base + "/image/v2/"}},
		})
	}
	writeJSON(w, http.StatusMultipleChoices, map[string]any{"versions": vs})
}

func (c *Cloud) imageJSONLocked(i int32, now int64) map[string]any {
	im := &c.store.images[i]
	id := im.id.String()
	out := map[string]any{}
	for _, d := range derivedKeys {
		if im.derived&d.bit != 0 {
			out[d.key] = c.derivedLocked(im, d.bit)
		}
	}
	for _, p := range im.props {
		out[p.key] = p.value
	}
	tags := im.tags
	if tags == nil {
		tags = []string{}
	}
	var size, virtual, checksum, algo, hash any
	if n, ok := im.size(now); ok {
		size, virtual = n, int64(im.minDisk)<<30
		hx := im.id.hex32()
		checksum, algo, hash = hx, "sha512", strings.Repeat(hx, 4)
	}
	for k, v := range map[string]any{
		"id": id, "name": im.name, "status": im.status(now), "visibility": visNames[im.vis],
		"protected": im.protected, "os_hidden": im.hidden, "owner": c.ident.projects[im.owner].id,
		"container_format": "bare", "disk_format": "qcow2", "min_disk": im.minDisk, "min_ram": im.minRAM,
		"size": size, "virtual_size": virtual, "checksum": checksum, "os_hash_algo": algo, "os_hash_value": hash,
		"tags": tags, "created_at": stamp(im.created, isoSeconds), "updated_at": stamp(im.updatedAt(now), isoSeconds),
		"self": "/v2/images/" + id, "file": "/v2/images/" + id + "/file", "schema": "/v2/schemas/image",
	} {
		out[k] = v
	}
	return out
}

func (c *Cloud) listImages(w http.ResponseWriter, r *http.Request, k caller) {
	qs := r.URL.Query()
	q, err := parseImageQuery(qs)
	if err != nil {
		glanceError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := c.clock.Now().UnixNano()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var matched []int32
	for _, i := range c.candidatesLocked(k, &q) {
		im := &c.store.images[i]
		if c.imageVisibleLocked(k, im) && c.matchImageLocked(&q, im, now) {
			matched = append(matched, i)
		}
	}
	slices.SortFunc(matched, func(a, b int32) int { return c.compareImagesLocked(q.sorts, a, b, now) })
	if q.marker != "" {
		m, ok := c.lookupImageLocked(q.marker)
		if !ok || !c.imageVisibleLocked(k, &c.store.images[m]) {
			glanceError(w, http.StatusBadRequest, "Invalid marker. Image "+q.marker+" could not be found.")
			return
		}
		// Keyset pagination: everything strictly after the marker.
		pos, _ := slices.BinarySearchFunc(matched, m, func(x, t int32) int { return c.compareImagesLocked(q.sorts, x, t, now) })
		for pos < len(matched) && matched[pos] == m {
			pos++
		}
		matched = matched[pos:]
	}
	page := matched[:min(q.limit, len(matched))]
	images := make([]any, 0, len(page))
	for _, i := range page {
		images = append(images, c.imageJSONLocked(i, now))
	}
	body := map[string]any{"images": images, "first": "/v2/images", "schema": "/v2/schemas/images"}
	if r.URL.RawQuery != "" {
		body["first"] = "/v2/images?" + r.URL.RawQuery
	}
	if len(page) < len(matched) && len(page) > 0 {
		next := url.Values{}
		for key, v := range qs {
			next[key] = v
		}
		next.Set("marker", c.store.images[page[len(page)-1]].id.String())
		next.Set("limit", strconv.Itoa(q.limit))
		body["next"] = "/v2/images?" + next.Encode()
	}
	writeJSON(w, http.StatusOK, body)
}

func noImage(id string) string { return "No image found with ID " + id }

func (c *Cloud) showImage(w http.ResponseWriter, r *http.Request, k caller) {
	id := r.PathValue("id")
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, ok := c.lookupImageLocked(id)
	if !ok || !c.imageVisibleLocked(k, &c.store.images[i]) {
		glanceError(w, http.StatusNotFound, noImage(id))
		return
	}
	writeJSON(w, http.StatusOK, c.imageJSONLocked(i, c.clock.Now().UnixNano()))
}

// writableImageLocked finds an image the caller may change, or answers.
func (c *Cloud) writableImageLocked(w http.ResponseWriter, id string, k caller) (int32, bool) {
	i, ok := c.lookupImageLocked(id)
	if !ok || !c.imageVisibleLocked(k, &c.store.images[i]) {
		glanceError(w, http.StatusNotFound, noImage(id))
		return -1, false
	}
	if !k.canWrite() || (!k.admin() && c.store.images[i].owner != k.project) {
		glanceError(w, http.StatusForbidden, "You are not permitted to modify image "+id+".")
		return -1, false
	}
	return i, true
}

func (c *Cloud) deleteImage(w http.ResponseWriter, r *http.Request, k caller) {
	id := r.PathValue("id")
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.writableImageLocked(w, id, k)
	if !ok {
		return
	}
	if c.store.images[i].protected {
		glanceError(w, http.StatusForbidden, "Image "+id+" is protected and cannot be deleted.")
		return
	}
	c.deleteImageLocked(i)
	w.WriteHeader(http.StatusNoContent)
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

var readOnlyImageAttrs = []string{"id", "status", "created_at", "updated_at", "owner", "size",
	"virtual_size", "checksum", "os_hash_algo", "os_hash_value", "self", "file", "schema",
	"direct_url", "locations", "stores"}

func (c *Cloud) patchImage(w http.ResponseWriter, r *http.Request, k caller) {
	id := r.PathValue("id")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/openstack-images-v2.1-json-patch" {
		glanceError(w, http.StatusUnsupportedMediaType, "Unsupported Content-Type")
		return
	}
	var ops []patchOp
	if err := decodeJSON(r, &ops); err != nil {
		glanceError(w, http.StatusBadRequest, err.Error())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.writableImageLocked(w, id, k)
	if !ok {
		return
	}
	// Apply to a copy so a failing operation leaves the image unchanged.
	cur := &c.store.images[i]
	next := *cur
	next.props = slices.Clone(cur.props)
	next.tags = slices.Clone(cur.tags)
	now := c.clock.Now().UnixNano()
	for _, op := range ops {
		if status, msg := c.applyPatchLocked(&next, op, now); status != 0 {
			glanceError(w, status, msg)
			return
		}
	}
	_, had := cur.explicit("instance_uuid")
	_, has := next.explicit("instance_uuid")
	switch {
	case has && !had:
		c.store.rerouted++
	case had && !has:
		c.store.rerouted--
	}
	if next.vis == visPrivate {
		delete(c.store.public, i)
	} else {
		c.store.public[i] = struct{}{}
	}
	next.updated = now
	*cur = next
	writeJSON(w, http.StatusOK, c.imageJSONLocked(i, now))
}

// applyPatchLocked applies one JSON-patch operation; a non-zero status is
// Glance's refusal.
func (c *Cloud) applyPatchLocked(im *img, op patchOp, now int64) (int, string) {
	if !strings.HasPrefix(op.Path, "/") || strings.Count(op.Path, "/") != 1 {
		return http.StatusBadRequest, "Invalid JSON pointer for this resource: '" + op.Path + "'"
	}
	key := strings.NewReplacer("~1", "/", "~0", "~").Replace(op.Path[1:])
	switch op.Op {
	case "add", "replace", "remove":
	default:
		return http.StatusBadRequest, "Unable to find '" + op.Op + "' operation in JSON Schema."
	}
	if slices.Contains(readOnlyImageAttrs, key) {
		return http.StatusForbidden, "Attribute '" + key + "' is read-only."
	}
	if strings.HasPrefix(key, "os_glance") {
		return http.StatusForbidden, "Attribute '" + key + "' is reserved."
	}
	switch key {
	case "name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "tags", "container_format", "disk_format":
		if op.Op == "remove" {
			return http.StatusForbidden, "Cannot remove core attribute '" + key + "'."
		}
		return c.setCoreAttr(im, key, op.Value, now)
	}
	if op.Op == "remove" {
		if !c.removePropLocked(im, key) {
			return http.StatusConflict, "Property " + key + " does not exist."
		}
		return 0, ""
	}
	var v string
	if err := json.Unmarshal(op.Value, &v); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("Provided object does not match schema 'image': %s is not of type 'string'", string(op.Value))
	}
	if len(v) > 255 {
		return http.StatusBadRequest, "Provided object does not match schema 'image': property values are at most 255 characters"
	}
	if _, exists := c.propLocked(im, key); op.Op == "replace" && !exists {
		return http.StatusConflict, "Property " + key + " does not exist."
	}
	c.setPropLocked(im, key, v)
	return 0, ""
}

func (c *Cloud) setCoreAttr(im *img, key string, raw json.RawMessage, now int64) (int, string) {
	bad := func() (int, string) {
		return http.StatusBadRequest, fmt.Sprintf("Provided object does not match schema 'image': invalid value %s for '%s'", string(raw), key)
	}
	switch key {
	case "name":
		var v *string
		if json.Unmarshal(raw, &v) != nil || (v != nil && len(*v) > 255) {
			return bad()
		}
		im.name = ""
		if v != nil {
			im.name = *v
		}
	case "visibility":
		var v string
		if json.Unmarshal(raw, &v) != nil || !slices.Contains(visNames[:], v) {
			return bad()
		}
		im.vis = uint8(slices.Index(visNames[:], v))
	case "protected", "os_hidden":
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return bad()
		}
		if key == "protected" {
			im.protected = v
		} else {
			im.hidden = v
		}
	case "min_disk", "min_ram":
		var v uint32
		if json.Unmarshal(raw, &v) != nil {
			return bad()
		}
		if key == "min_disk" {
			im.minDisk = v
		} else {
			im.minRAM = v
		}
	case "tags":
		var v []string
		if json.Unmarshal(raw, &v) != nil {
			return bad()
		}
		slices.Sort(v)
		im.tags = slices.Compact(v)
	case "container_format", "disk_format":
		if im.status(now) != "queued" {
			return http.StatusForbidden, "Attribute " + key + " can be only replaced for a queued image."
		}
		return http.StatusForbidden, "Attribute " + key + " is fixed by the simulator for snapshots."
	}
	return 0, ""
}

// imageSchema serves a minimal image schema: enough for clients that read
// the property names, not a full JSON schema.
func (c *Cloud) imageSchema(w http.ResponseWriter, r *http.Request, _ caller) {
	props := map[string]any{}
	for _, key := range []string{"id", "name", "status", "visibility", "owner", "container_format",
		"disk_format", "checksum", "created_at", "updated_at", "self", "file", "schema"} {
		props[key] = map[string]any{"type": []string{"null", "string"}}
	}
	for _, key := range []string{"size", "virtual_size", "min_disk", "min_ram"} {
		props[key] = map[string]any{"type": []string{"null", "integer"}}
	}
	for _, key := range []string{"protected", "os_hidden"} {
		props[key] = map[string]any{"type": "boolean"}
	}
	props["tags"] = map[string]any{"type": "array", "items": map[string]any{"type": "string", "maxLength": 255}}
	image := map[string]any{
		"name": "image", "properties": props,
		"additionalProperties": map[string]any{"type": "string"},
		"links": []any{
			map[string]any{"rel": "self", "href": "{self}"},
			map[string]any{"rel": "enclosure", "href": "{file}"},
			map[string]any{"rel": "describedby", "href": "{schema}"},
		},
	}
	if strings.HasSuffix(r.URL.Path, "/images") {
		writeJSON(w, http.StatusOK, map[string]any{
			"name": "images",
			"properties": map[string]any{
				"images": map[string]any{"type": "array", "items": image},
				"schema": map[string]any{"type": "string"}, "first": map[string]any{"type": "string"},
				"next": map[string]any{"type": "string"},
			},
			"links": []any{
				map[string]any{"rel": "first", "href": "{first}"},
				map[string]any{"rel": "next", "href": "{next}"},
				map[string]any{"rel": "describedby", "href": "{schema}"},
			},
		})
		return
	}
	writeJSON(w, http.StatusOK, image)
}
