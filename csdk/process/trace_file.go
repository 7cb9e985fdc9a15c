package process

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// TraceFile is where trace lines go: a file that the size cap
// (MVNET_TRACE_MAX) keeps to the newest lines, or a stream.
//
// The cap applies to a regular file named as itself (not through a
// symbolic link such as /dev/stdout) only. When a line would take the file
// past max bytes, the file is rewritten to hold a "dropped" line followed
// by the newest lines that fill at most half the cap, and the line is
// appended: the file stays under the cap, always ends with what happened
// last, and says what it no longer holds:
//
//	{"t":5120344,"kind":"dropped","lines":81230,"events":3400211,"first":5,"last":5120344,"max":67108864}
//
// lines counts the trace lines removed, events the events they stood for
// (a repeat line stands for its count, an earlier dropped line for its
// events), first and last are the t of the first and the last of them.
// Lines are only ever removed whole, and the rewrite goes to a new file
// that is renamed over the old one, so a reader never sees part of a line
// (a reader following the file by name, such as tail -F, sees it
// replaced). A stream — a pipe (mvnet run's /dev/fd/3), a terminal,
// stderr ("-"), what a link leads to — is not rewritten, so it has no cap:
// its reader decides what it keeps (mvnet run applies the cap to its
// --trace file the same way).
//
// A write that fails is reported once to OnError, so that a trace does not
// end without a word: the library logs it as a warning, mvnet run prints
// it. A failed rewrite (the directory removed or read-only, the disk full)
// ends the trace: nothing more is written.
type TraceFile struct {
	// OnError, if set, is called with the first error a write meets
	// (later ones are not reported).
	OnError func(error)

	path     string
	f        *os.File
	owned    bool  // f is ours to close
	max      int64 // the cap in bytes; 0: none
	size     int64 // bytes in f
	err      error // a failed rewrite: the cap cannot be kept, nothing more is written
	reported bool  // OnError has been called
}

// droppedRoom is the room kept for the dropped line when the file is
// rewritten: its numbers are at most 20 digits each.
const droppedRoom = 256

// OpenTraceFile opens path for trace lines, capped at max bytes (0: no
// cap). appendTo keeps what the file holds (a restarted image): a file
// already over the cap is rewritten at the first line written.
func OpenTraceFile(path string, appendTo bool, max int64) (*TraceFile, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, err
	}
	tf := &TraceFile{path: path, f: f, owned: true}
	// Only a regular file named as itself is rewritten: not what a link
	// such as /dev/stdout or /proc/self/fd/N leads to, which the rename
	// would replace with a file of its own.
	li, err := os.Lstat(path)
	if fi, err2 := f.Stat(); err == nil && err2 == nil && li.Mode().IsRegular() && fi.Mode().IsRegular() {
		tf.max = max
		if appendTo {
			tf.size = fi.Size()
		}
	}
	return tf, nil
}

// traceStream writes trace lines to a stream the caller owns (stderr): no
// cap, not closed.
func traceStream(f *os.File) *TraceFile { return &TraceFile{path: "-", f: f} }

// WriteLine writes one whole line (ending in "\n") with one write, first
// making room under the cap if it needs it. A line that does not fit even
// into an otherwise empty file is counted as dropped instead.
func (tf *TraceFile) WriteLine(line []byte) error {
	if tf.f == nil {
		return os.ErrClosed
	}
	if tf.err != nil {
		return tf.err
	}
	if tf.max > 0 && tf.size+int64(len(line)) > tf.max {
		fits, err := tf.makeRoom(line)
		if err != nil {
			tf.err = fmt.Errorf("trace file %s: cannot keep it under MVNET_TRACE_MAX, the trace ends here: %w", tf.path, err)
			return tf.report(tf.err)
		}
		if !fits {
			return nil
		}
	}
	n, err := tf.f.Write(line)
	tf.size += int64(n)
	if err != nil {
		return tf.report(fmt.Errorf("trace file %s: %w", tf.path, err))
	}
	return nil
}

// report passes err to OnError the first time a write fails, and returns
// it.
func (tf *TraceFile) report(err error) error {
	if !tf.reported && tf.OnError != nil {
		tf.reported = true
		tf.OnError(err)
	}
	return err
}

// Write is WriteLine for an io.Writer: p must be one whole line.
func (tf *TraceFile) Write(p []byte) (int, error) {
	if err := tf.WriteLine(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the file (not a stream given to traceStream).
func (tf *TraceFile) Close() error {
	if tf.f == nil {
		return nil
	}
	var err error
	if tf.owned {
		err = tf.f.Close()
	}
	tf.f = nil
	return err
}

// makeRoom rewrites the file as its dropped line and its newest lines,
// leaving room for next, or — if next cannot fit at all — for nothing,
// counting next among the dropped; it reports whether next fits.
func (tf *TraceFile) makeRoom(next []byte) (bool, error) {
	keep := min(tf.max/2, tf.max-droppedRoom-int64(len(next)))
	fits := keep >= 0
	keep = max(keep, 0)
	rf, err := os.Open(tf.path) // f is write-only
	if err != nil {
		return false, err
	}
	defer rf.Close()
	cut, err := tf.lineStartFrom(rf, tf.size-keep)
	if err != nil {
		return false, err
	}
	var d droppedCount
	if err := d.scan(io.NewSectionReader(rf, 0, cut)); err != nil {
		return false, err
	}
	if !fits {
		d.add(bytes.TrimSuffix(next, []byte("\n")))
	}
	tmp, err := os.CreateTemp(filepath.Dir(tf.path), filepath.Base(tf.path)+".*")
	if err != nil {
		return false, err
	}
	fail := func(err error) (bool, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return false, err
	}
	head := d.line(tf.max)
	if _, err := tmp.Write(head); err != nil {
		return fail(err)
	}
	if _, err := io.Copy(tmp, io.NewSectionReader(rf, cut, tf.size-cut)); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), tf.path); err != nil {
		return fail(err)
	}
	tf.f.Close()
	tf.f, tf.size = tmp, int64(len(head))+tf.size-cut
	return fits, nil
}

// lineStartFrom is the offset of the first line that starts at or after
// off (the file's size if none does).
func (tf *TraceFile) lineStartFrom(rf io.ReaderAt, off int64) (int64, error) {
	if off <= 0 {
		return 0, nil
	}
	r := bufio.NewReader(io.NewSectionReader(rf, off-1, tf.size-off+1))
	skipped, err := r.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		var more []byte
		more, err = r.ReadSlice('\n')
		skipped = append(skipped[:len(skipped):len(skipped)], more...)
	}
	if errors.Is(err, io.EOF) {
		return tf.size, nil
	}
	if err != nil {
		return 0, err
	}
	return off - 1 + int64(len(skipped)), nil
}

// droppedCount sums up the lines a rewrite removes.
type droppedCount struct {
	lines, events int64
	first, last   int64
	timed         bool // first is set
}

// scan counts every line r holds.
func (d *droppedCount) scan(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			d.add(bytes.TrimSuffix(line, []byte("\n")))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// add counts one line: a repeat line stands for its count, a dropped line
// for what it counted.
func (d *droppedCount) add(line []byte) {
	t, kind, ok := lineHead(line)
	lines, events, first := int64(1), int64(1), t
	switch kind {
	case "repeat":
		var r struct{ Count, First int64 }
		if json.Unmarshal(line, &r) == nil {
			events, first = r.Count, r.First
		}
	case "dropped":
		var r struct{ Lines, Events, First int64 }
		if json.Unmarshal(line, &r) == nil {
			lines, events, first = r.Lines, r.Events, r.First
		}
	}
	d.lines += lines
	d.events += events
	if ok {
		if !d.timed {
			d.first, d.timed = first, true
		}
		d.last = t
	}
}

// line is the dropped line.
func (d *droppedCount) line(max int64) []byte {
	b := appendInt([]byte("{"), "t", d.last)
	b = append(b, `,"kind":"dropped"`...)
	b = appendInt(b, "lines", d.lines)
	b = appendInt(b, "events", d.events)
	b = appendInt(b, "first", d.first)
	b = appendInt(b, "last", d.last)
	b = appendInt(b, "max", max)
	return append(b, "}\n"...)
}

// appendInt appends the member "name":v to a JSON object being built in b
// (after its '{' or another member).
func appendInt(b []byte, name string, v int64) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(append(append(b, '"'), name...), `":`...)
	return strconv.AppendInt(b, v, 10)
}

// lineHead reads the t and kind every trace line begins with
// ({"t":N,"kind":"K"); ok is false for a line that does not.
func lineHead(line []byte) (t int64, kind string, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte(`{"t":`))
	if !found {
		return 0, "", false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return 0, "", false
	}
	rest, found = bytes.CutPrefix(rest[i:], []byte(`,"kind":"`))
	if !found {
		return n, "", true
	}
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return n, string(rest[:j]), true
	}
	return n, "", true
}
