package track

// PageWrites counts the pages the view's commits wrote so far.
func (s *Store) PageWrites() int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite()
}
