"""Write a file all or nothing: readers see the old content or the new, never a part.

Sensu reads every ``*.json`` under ``/etc/sensu/conf.d`` when it starts or reloads; a file
cut short by a full disk or an interrupted run would stop it from loading any check.
"""

from __future__ import annotations

import errno
import os
import stat

# Imported by check-mdd-batch on every run (its state file): no pathlib, secrets, typing or
# contextlib (try/except where an error is of no consequence).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any


def write_atomically(
    path: str | os.PathLike[str],
    text: str | bytes,
    encoding: str = "utf-8",
    *,
    exclusive: bool = False,
) -> None:
    """Write ``text`` (or bytes, as they are) to ``path`` through a temporary file in the
    same folder.

    The temporary file is written, flushed to disk (fsync) and renamed over ``path``
    (``os.replace``, atomic on POSIX), then the folder is synced so the rename survives a
    crash. On any error the temporary file is removed, ``path`` is left as it was and the
    error is raised. A symlink is written through, like ``>`` does. A new file gets the
    permissions the umask allows (as with ``>``); a replaced file keeps its permissions,
    and its owner and group where this process may set them.

    The temporary name starts with ``.`` and ends with ``.tmp``, so even one left behind by
    a killed process is never read by Sensu, which loads only ``*.json``.

    ``exclusive``: never over anything already at ``path`` (a file, a symlink, whatever
    appeared since the caller looked): the final step itself refuses, with
    ``FileExistsError``, so no check made earlier can be outrun (``_put_exclusively``).
    """
    # exclusive: a symlink at ``path`` is something there, not a way to somewhere else
    target = os.path.abspath(path) if exclusive else os.path.realpath(path)
    folder, name = os.path.split(target)
    previous = _previous_file(target, exclusive)
    # SIGINT, SIGTERM and SIGHUP are held while the temporary file is made, and let through
    # once inside ``try``: a signal can no longer land between its creation and the clean-up
    # that removes it (Python 3.10 runs handlers between any two instructions).
    held = _hold_signals()
    try:
        temporary, fd = _create_temporary(folder, name)
    except BaseException:
        _release_signals(held)
        raise
    try:
        _release_signals(held)
        _fill(fd, text, encoding)
        if previous is not None:
            os.chmod(temporary, stat.S_IMODE(previous.st_mode))
            try:  # noqa: SIM105 - contextlib would cost check-mdd-batch its import
                os.chown(temporary, previous.st_uid, previous.st_gid)
            except PermissionError:
                pass
        if exclusive:
            _put_exclusively(temporary, target)
        else:
            os.replace(temporary, target)
    except BaseException:
        try:  # noqa: SIM105 - contextlib would cost check-mdd-batch its import
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _sync_directory(folder)


def _previous_file(target: str, exclusive: bool) -> os.stat_result | None:
    """What is at ``target`` now: nothing, or a regular file to replace (else an error)."""
    try:
        previous: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        previous = None
    if exclusive and (previous is not None or os.path.lexists(target)):
        raise FileExistsError(errno.EEXIST, "already exists", str(target))
    if previous is not None and stat.S_ISDIR(previous.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", str(target))
    if previous is not None and not stat.S_ISREG(previous.st_mode):
        raise OSError(errno.EINVAL, "is not a regular file", str(target))
    return previous


def _fill(fd: int, text: str | bytes, encoding: str) -> None:
    """Write ``text`` into the open temporary file ``fd``, flush it to disk and close it."""
    try:
        stream: IO[Any] = (
            os.fdopen(fd, "wb")
            if isinstance(text, bytes)
            else os.fdopen(fd, "w", encoding=encoding, newline="")
        )
    except BaseException:
        os.close(fd)
        raise
    with stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())


# errno values of os.link on a file system (or in a sandbox) without hard links.
_NO_LINKS = frozenset(
    {errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOSYS, errno.EXDEV}
    | {getattr(errno, name) for name in ("ENOTSUP", "EOPNOTSUPP") if hasattr(errno, name)}
)


def _put_exclusively(temporary: str, target: str) -> None:
    """Give the finished ``temporary`` the name ``target``, only if nothing has that name.

    ``os.link`` makes the new name in one step that fails with ``FileExistsError`` when the
    name is taken; the temporary name is then removed (the caller's cleanup does it on
    failure). Where hard links are not possible, the name is first claimed by creating an
    empty ``target`` with ``O_EXCL`` (the same one-step refusal), then the temporary file is
    renamed over that placeholder of ours: readers see an empty file or the whole one.
    """
    try:
        os.link(temporary, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        os.close(os.open(target, flags | getattr(os, "O_NOFOLLOW", 0), 0o600))
        try:
            os.replace(temporary, target)
        except BaseException:
            try:  # noqa: SIM105 - contextlib would cost check-mdd-batch its import
                os.unlink(target)  # our empty placeholder
            except OSError:
                pass
            raise
        return
    os.unlink(temporary)


_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _hold_signals() -> object:
    """Block the stopping signals in this thread; what to give ``_release_signals``.

    With the ``_signal`` C module: ``signal.py`` turns every signal number into an enum on
    import, 3.5 million instructions, on every check-mdd-batch run that writes its state.
    """
    if TYPE_CHECKING:
        import signal
    else:
        import _signal as signal
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(
        signal.SIG_BLOCK, {getattr(signal, n) for n in _SIGNALS if hasattr(signal, n)}
    )


def _release_signals(held: object) -> None:
    """Restore the mask ``_hold_signals`` replaced; a signal that came meanwhile is raised now."""
    if TYPE_CHECKING:
        import signal
    else:
        import _signal as signal
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # type: ignore[arg-type]


def _create_temporary(directory: str, name: str) -> tuple[str, int]:
    """A new file next to the target, created with mode 0666 less the umask, like ``>``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = os.path.join(directory, f".{name}.{os.urandom(4).hex()}.tmp")
        try:
            return temporary, os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue


def _sync_directory(directory: str) -> None:
    """Make the rename durable; not every system can open a folder, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        try:  # noqa: SIM105 - contextlib would cost check-mdd-batch its import
            os.fsync(fd)
        except OSError:
            pass
    finally:
        os.close(fd)
