package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// testNet is a private network of test hosts on this machine: a bridge in
// the root namespace (the "switch", where etcd and the simulated cloud
// listen) and one network namespace per node, each joined to the bridge by
// a veth pair. Cutting a node downs its veth: it loses etcd, the cloud and
// the other nodes at once, as a partitioned host does.
type testNet struct {
	t      *testing.T
	id     string
	bridge string
	nodes  []netNode
}

type netNode struct {
	ns   string // namespace name
	veth string // root-side end of its veth pair
	IP   string
}

// HostIP is the bridge's address, reachable from every node.
func (n *testNet) HostIP() string { return n.subnet() + ".1" }

func (n *testNet) subnet() string { return "10.213." + n.id[len(n.id)-2:] }

// newTestNet builds a network of count nodes; it fails the test when this
// machine cannot make namespaces (the tests need root, as CI has).
func newTestNet(t *testing.T, count int) *testNet {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("partition tests need root to create network namespaces (ip netns)")
	}
	// Names are short (interface names stop at 15 bytes) and random, so a
	// leftover of a killed run cannot collide.
	id := fmt.Sprintf("%02d", rand.IntN(90)+10)
	n := &testNet{t: t, id: id, bridge: "isbr" + id}
	t.Cleanup(n.teardown)
	n.run("ip", "link", "add", n.bridge, "type", "bridge")
	n.run("ip", "addr", "add", n.HostIP()+"/24", "dev", n.bridge)
	n.run("ip", "link", "set", n.bridge, "up")
	// Docker's FORWARD policy drops bridged traffic between the nodes
	// (etcd and the cloud on the bridge itself are unaffected): let this
	// bridge forward among its own ports.
	n.run("iptables", "-I", "FORWARD", "-i", n.bridge, "-o", n.bridge, "-j", "ACCEPT")
	for k := 1; k <= count; k++ {
		node := netNode{ns: fmt.Sprintf("is%s-n%d", id, k), veth: fmt.Sprintf("isv%s-%d", id, k), IP: fmt.Sprintf("%s.%d", n.subnet(), 10+k)}
		n.run("ip", "netns", "add", node.ns)
		n.nodes = append(n.nodes, node)
		n.run("ip", "link", "add", node.veth, "type", "veth", "peer", "name", "eth0", "netns", node.ns)
		n.run("ip", "link", "set", node.veth, "master", n.bridge)
		n.run("ip", "link", "set", node.veth, "up")
		n.run("ip", "netns", "exec", node.ns, "ip", "addr", "add", node.IP+"/24", "dev", "eth0")
		n.run("ip", "netns", "exec", node.ns, "ip", "link", "set", "eth0", "up")
		n.run("ip", "netns", "exec", node.ns, "ip", "link", "set", "lo", "up")
	}
	return n
}

func (n *testNet) run(args ...string) {
	n.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		n.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Node returns node k (1-based).
func (n *testNet) Node(k int) netNode { return n.nodes[k-1] }

// Command runs imgsched inside node k's namespace; ip netns exec execs the
// binary itself, so signals reach it directly.
func (n *testNet) Command(k int) []string {
	return []string{"ip", "netns", "exec", n.Node(k).ns, binary}
}

// Cut isolates node k from everything; Heal reconnects it.
func (n *testNet) Cut(k int)  { n.run("ip", "link", "set", n.Node(k).veth, "down") }
func (n *testNet) Heal(k int) { n.run("ip", "link", "set", n.Node(k).veth, "up") }

func (n *testNet) teardown() {
	for _, node := range n.nodes {
		exec.Command("ip", "netns", "del", node.ns).Run()
		exec.Command("ip", "link", "del", node.veth).Run()
	}
	exec.Command("iptables", "-D", "FORWARD", "-i", n.bridge, "-o", n.bridge, "-j", "ACCEPT").Run()
	exec.Command("ip", "link", "del", n.bridge).Run()
}
