"""The hostile-input corpus: bad inputs, bad options and failing disks, each with its exit code, its
exact message and proof that no output file was created or changed."""
