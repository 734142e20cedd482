package scan

// LoopInfo says whether a loop variant could be set up in the target
// interpreter, and with which package.
type LoopInfo struct {
	Loop      Loop   `json:"loop"`
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"` // why not, when unavailable
	Package   string `json:"package,omitempty"`
	Version   string `json:"version,omitempty"`
	// Isolation says how cells of this loop were kept apart: a fork per
	// cell, or a process per cell (and why it could not fork).
	Isolation string `json:"isolation,omitempty"`
}

// Environment is what the workers report about the interpreter they run in.
type Environment struct {
	Python        string     `json:"python"`         // interpreter path
	PythonVersion string     `json:"python_version"` // e.g. 3.11.2
	G4FVersion    string     `json:"g4f_version,omitempty"`
	G4FPath       string     `json:"g4f_path,omitempty"`    // where g4f was imported from
	Demo          bool       `json:"demo,omitempty"`        // the embedded miniature g4f
	NestModule    string     `json:"nest_module,omitempty"` // which nest_asyncio g4f imports, when it says
	Loops         []LoopInfo `json:"loops,omitempty"`
	// Hostname is the machine the scan ran on, for JUnit's hostname.
	Hostname string `json:"hostname,omitempty"`
}

// Loop returns the info of one loop variant and whether it is known.
func (e Environment) Loop(l Loop) (LoopInfo, bool) {
	for _, li := range e.Loops {
		if li.Loop == l {
			return li, true
		}
	}
	return LoopInfo{}, false
}
