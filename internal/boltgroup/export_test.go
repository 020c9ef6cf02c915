package boltgroup

func (g *Group) isBusy() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.busy
}

func (g *Group) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}
