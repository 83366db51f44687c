# Sourced by the cluster scripts: the settings they share, the release build, and the R-MAT
# graph (generated once, seeded).
SCALE=${SCALE:-20}
PARTS=${PARTS:-8}
DIR=${DIR:-bench-out/cluster}
B=target/release/firesteel

cargo build --release --quiet
mkdir -p "$DIR"
GRAPH="$DIR/rmat$SCALE.txt"
[ -s "$GRAPH" ] || "$B" generate rmat --scale "$SCALE" --output "$GRAPH" >/dev/null
