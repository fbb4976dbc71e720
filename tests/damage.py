"""Ways to damage a good dataset file, each a function of the open h5py.File (tests of refusals)."""


def drop(path):
    return lambda f: f.__delitem__(path)


def replace(path, make):
    """Replace dataset `path` by make(its values)."""
    def damage(f):
        old = f[path][:]
        del f[path]
        f[path] = make(old)
    return damage


def set_row(path, row, value):
    def damage(f):
        f[path][row] = value
    return damage


def set_attr(name, value):
    return lambda f: f.attrs.__setitem__(name, value)
