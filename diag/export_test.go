package diag

// The hang fixtures, for the tests of the hang block the renderers write.
var HungCell = hungCell

const (
	NetworkDump  = networkDump
	NetworkTasks = networkTasks
)
