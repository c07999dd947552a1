package sharding

// Move is one shard changing owner between two assignments.
type Move struct {
	Shard int
	// From is the previous owner; "" if the previous assignment had no
	// such shard (for example, it is the zero Assignment).
	From string
	// To is the new owner; "" if the next assignment has no such shard.
	To string
}

// Diff returns the shards whose owner differs between prev and next, in
// shard order. Diff of the zero Assignment and next lists every shard of
// next with From "".
func Diff(prev, next Assignment) []Move {
	var moves []Move
	for s := range max(prev.Shards(), next.Shards()) {
		var from, to string
		if s < prev.Shards() {
			from = prev.Owner(s)
		}
		if s < next.Shards() {
			to = next.Owner(s)
		}
		if from != to {
			moves = append(moves, Move{Shard: s, From: from, To: to})
		}
	}
	return moves
}
