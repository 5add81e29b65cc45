"""Frozen records: what @dataclass(frozen=True) gives the launch model,
without importing dataclasses.

Importing dataclasses (with inspect, ast, dis and tokenize behind it) and
generating each class's methods costs a launch about as much as all of
the launcher's own work; the launch model needs only a typed, immutable
record with keyword defaults, equality, hashing and a readable repr.

    @record
    class Port:
        protocol: str
        host_port: int = 0

Fields are the class's annotations in order; a class attribute of the
same name is the field's default (immutable values only).  fields(cls or
record) lists the field names; is_record tells records from other values.
Assigning to a field raises FrozenInstanceError, as dataclasses does.
"""

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """A record's fields cannot be assigned."""


def record(cls):
    """Make CLS a frozen record of its annotated fields."""
    names = tuple(cls.__dict__.get("__annotations__", {}))
    defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
    for n in defaults:
        delattr(cls, n)  # read through the instance's slot
    required = [n for n in names if n not in defaults]
    if any(
        names.index(r) > min((names.index(d) for d in defaults), default=len(names))
        for r in required
    ):
        raise TypeError(f"{cls.__name__}: a field without a default follows one with")

    def __init__(self, *args, **kwargs):
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, {len(args)} given")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{cls.__name__}() got multiple values for {key!r}")
            values[key] = value
        for name in names:
            value = values.get(name, defaults.get(name, _MISSING))
            if value is _MISSING:
                raise TypeError(f"{cls.__name__}() missing argument {name!r}")
            object.__setattr__(self, name, value)

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{cls.__qualname__}({inner})"

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def __hash__(self):
        return hash(tuple(getattr(self, n) for n in names))

    def __setattr__(self, name, value):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    namespace = {
        "__init__": __init__,
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__record_fields__": names,
    }
    for key, value in namespace.items():
        if key.startswith("__") and key != "__record_fields__":
            value.__qualname__ = f"{cls.__qualname__}.{key}"
        setattr(cls, key, value)
    return cls


def fields(record_or_class):
    """The field names of a record (or record class), in order."""
    return record_or_class.__record_fields__


def is_record(value):
    """Whether VALUE is a record or a record class."""
    return hasattr(value, "__record_fields__")
