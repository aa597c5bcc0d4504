#!/bin/sh
# Capture a released commit's migrations as a test fixture, verbatim:
#   tests/storage/capture_release.sh 61aa575   ->  tests/storage/release_61aa575/
# The package it writes runs that release's migrations (its own runner included), so
# tests/storage/test_upgrade.py can build that release's schema and upgrade it.
set -eu
commit=$1
dir=$(dirname "$0")/release_$commit
mkdir -p "$dir"
for file in $(git ls-tree --name-only "$commit" host/storage/migrations/ | grep '\.py$'); do
    git show "$commit:$file" > "$dir/$(basename "$file")"
done
echo "wrote $dir"
