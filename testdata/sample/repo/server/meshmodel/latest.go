package meshmodel

// Latest returns the newest version of the named model.
//
// Versions compare as semantic versions: numerically by major, minor and
// patch ("v1.10.0" is newer than "v1.9.0"), a leading "v" is optional, and a
// pre-release ("v2.0.0-rc.1") is older than the release it precedes. The
// second result is false when no model has that name.
func (r *Registry) Latest(name string) (Model, bool) {
	return Model{}, false
}
