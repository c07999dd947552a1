package openstack

import "testing"

func TestLRUForgetsTheLeastRecentlyUsed(t *testing.T) {
	c := newLRU[string, int](2)
	c.add("a", 1)
	c.add("b", 2)
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Fatalf("get(a) = %d, %v", v, ok)
	}
	c.add("c", 3) // b is the least recently used now
	if _, ok := c.get("b"); ok {
		t.Errorf("b survived eviction")
	}
	if v := c.getOrAdd("a", func() int { return 100 }); v != 1 {
		t.Errorf("getOrAdd(a) = %d, want the stored 1", v)
	}
	if v := c.getOrAdd("d", func() int { return 4 }); v != 4 {
		t.Errorf("getOrAdd(d) = %d, want 4", v)
	}
	if _, ok := c.get("c"); ok {
		t.Errorf("c survived eviction")
	}
	c.remove("a")
	if _, ok := c.get("a"); ok || c.len() != 1 {
		t.Errorf("after remove: len %d", c.len())
	}
}
