"""The one place that names artifact paths: relative, POSIX, stable strings doit can compare."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tflmake.errors import BuildError

# The name the selected variant's bundle carries instead of the variant's ([select]); no variant may take it.
SELECTED = "selected"
# What a variant ships (Layout.shipped_files), by file name: `tflmake verify` expects each to be signed.
SHIPPED_SUFFIXES = (".tflite", ".h", ".c", "_firmware.json")


@dataclass(frozen=True)
class Layout:
    """Where a project's outputs live; every task and builder asks this for paths."""

    build_dir: str = "build"

    def model_dir(self, model: str) -> str:
        return f"{self.build_dir}/{model}"

    def check_inside(self, model: str) -> None:
        """Refuse a model folder that leads out of the build directory (e.g. a planted symlink).

        Names are validated against `^[a-z][a-z0-9_]*$`, so only the file system can do this.
        """
        folder = Path(self.model_dir(model))
        if folder.is_symlink() or not folder.resolve().is_relative_to(Path(self.build_dir).resolve()):
            raise BuildError(f"{folder.as_posix()} is a symlink or leads outside {self.build_dir}/; "
                             "tflmake writes only inside the build directory (remove it and rebuild)")

    def dataset(self, model: str) -> str:
        """The split data set (train/test arrays after scaling and reshaping)."""
        return f"{self.model_dir(model)}/dataset.npz"

    def saved_model_dir(self, model: str) -> str:
        return f"{self.model_dir(model)}/saved_model"

    def saved_model_stamp(self, model: str) -> str:
        """A file standing for the SavedModel directory (doit cannot depend on a directory).

        It holds a hash of the model's weights, so a retrain that changes nothing
        leaves it byte-identical and downstream tasks stay up to date.
        """
        return f"{self.saved_model_dir(model)}/tflmake_stamp.json"

    def keras_weights(self, model: str) -> str:
        """The trained Keras weights, kept next to the SavedModel for pruning and QAT to start from."""
        return f"{self.saved_model_dir(model)}/keras.weights.h5"

    def pruned_dir(self, model: str, options: dict[str, Any]) -> str:
        """The pruned SavedModel shared by every variant with the same pruning `options`.

        Named by a hash of the options, so equal options share one directory and
        a change makes a new one instead of overwriting what other variants use.
        """
        digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:10]
        return f"{self.model_dir(model)}/pruned_{digest}"

    def pruned_stamp(self, model: str, options: dict[str, Any]) -> str:
        """Stands for the pruned SavedModel; holds the weights hash and the measured sparsity."""
        return f"{self.pruned_dir(model, options)}/tflmake_stamp.json"

    def pruned_weights(self, model: str, options: dict[str, Any]) -> str:
        return f"{self.pruned_dir(model, options)}/keras.weights.h5"

    def representative(self, model: str) -> str:
        return f"{self.model_dir(model)}/representative.npz"

    def tflite(self, model: str, variant: str) -> str:
        return f"{self.model_dir(model)}/{variant}.tflite"

    def float_search(self, model: str, variant: str) -> str:
        """The trace of a `keep_float_search` variant's search: ranking, every candidate, the chosen ops."""
        return f"{self.model_dir(model)}/{variant}_float_search.json"

    def vela_tflite(self, model: str, variant: str) -> str:
        """The variant's int8 `.tflite` compiled by Vela for its Ethos-U accelerator."""
        return f"{self.model_dir(model)}/{variant}_vela.tflite"

    def vela_summary(self, model: str, variant: str) -> str:
        """Vela's own summary CSV of that compilation, as Vela wrote it."""
        return f"{self.model_dir(model)}/{variant}_vela_summary.csv"

    def vela_estimates(self, model: str, variant: str) -> str:
        """Vela's estimates and where the ops run, as JSON for the firmware bundle and the report."""
        return f"{self.model_dir(model)}/{variant}_vela.json"

    def vela_outputs(self, model: str, variant: str) -> list[str]:
        """Every file the vela task writes (its targets)."""
        return [self.vela_tflite(model, variant), self.vela_summary(model, variant),
                self.vela_estimates(model, variant)]

    def carray_header(self, model: str, variant: str) -> str:
        return f"{self.model_dir(model)}/{variant}_model_data.h"

    def carray_source(self, model: str, variant: str) -> str:
        return f"{self.model_dir(model)}/{variant}_model_data.c"

    def manifest(self, model: str) -> str:
        """Provenance: sha256 of every artifact, spec section hashes, tool versions."""
        return f"{self.model_dir(model)}/manifest.json"

    def op_resolver_header(self, model: str, variant: str) -> str:
        """C++ header registering exactly the model's ops on a MicroMutableOpResolver."""
        return f"{self.model_dir(model)}/{variant}_op_resolver.h"

    def firmware_manifest(self, model: str, variant: str) -> str:
        """Facts about the bundle (measured arena, ops, sha256) for tools such as the report."""
        return f"{self.model_dir(model)}/{variant}_firmware.json"

    def firmware_sources(self, model: str, variant: str) -> list[str]:
        """The bundle's C files again, named `<model>_<variant>_...` in `firmware/`: header, source, resolver.

        `<variant>_model_data.h` is the same name in every model's folder; these
        names are unique across models, so several models' files share one source folder.
        """
        stem = f"{self.model_dir(model)}/firmware/{model}_{variant}"
        return [f"{stem}_model_data.h", f"{stem}_model_data.c", f"{stem}_op_resolver.h"]

    def frontend_sources(self, model: str, variant: str) -> list[str]:
        """The C input front end (raw sensor data to the input tensor) in `firmware/`: header, source."""
        stem = f"{self.model_dir(model)}/firmware/{model}_{variant}_frontend"
        return [f"{stem}.h", f"{stem}.c"]

    def crypto_sources(self, model: str, variant: str) -> list[str]:
        """The signature check and decryption helpers of a signed or encrypted bundle: header, source,
        then the same as `firmware/<model>_<variant>_model_crypto.h/.c`."""
        own, stem = f"{self.model_dir(model)}/{variant}", f"{self.model_dir(model)}/firmware/{model}_{variant}"
        return [f"{own}_model_crypto.h", f"{own}_model_crypto.c", f"{stem}_model_crypto.h", f"{stem}_model_crypto.c"]

    def firmware_bundle(self, model: str, variant: str, front_end: bool = False, crypto: bool = False) -> list[str]:
        """Every file of a variant's firmware bundle (the targets of its carray task).

        Args:
            front_end: the data set has a C front end, so the bundle carries it.
            crypto: the bundle is signed or encrypted, so it carries the PSA crypto helpers.
        """
        return [self.carray_header(model, variant), self.carray_source(model, variant),
                self.op_resolver_header(model, variant), self.firmware_manifest(model, variant),
                *self.firmware_sources(model, variant),
                *(self.frontend_sources(model, variant) if front_end else []),
                *(self.crypto_sources(model, variant) if crypto else [])]

    def selected_firmware_manifest(self, model: str) -> str:
        """The selected variant's `_firmware.json`, with its symbol and front end renamed and why it won."""
        return f"{self.model_dir(model)}/firmware/{model}_{SELECTED}_firmware.json"

    def selected_bundle(self, model: str, front_end: bool = False) -> list[str]:
        """The variant `[select]` chose, under names that do not change with the choice (the select task's
        targets): `firmware/<model>_selected_` model data, op resolver, firmware JSON and front end."""
        return [*self.firmware_sources(model, SELECTED), self.selected_firmware_manifest(model),
                *(self.frontend_sources(model, SELECTED) if front_end else [])]

    def selected_files(self, model: str) -> str:
        """The selected bundle's files as one glob, as documentation and reports name them."""
        return f"{self.model_dir(model)}/firmware/{model}_{SELECTED}_*"

    def shipped_files(self, model: str, variant: str, front_end: bool = False, accelerator: bool = False,
                      c_array: bool = False, crypto: bool = False) -> list[str]:
        """What a variant ships, which its signature covers: the `.tflite` (and Vela's), the firmware bundle
        (with its signature/decryption helpers when the bundle is signed or encrypted: `crypto`)."""
        return [self.tflite(model, variant), *([self.vela_tflite(model, variant)] if accelerator else []),
                *(self.firmware_bundle(model, variant, front_end, crypto=crypto) if c_array else [])]

    def signature(self, model: str, variant: str) -> str:
        """The OpenSSF model-signing signature of the variant's shipped files (not byte-reproducible)."""
        return f"{self.model_dir(model)}/{variant}.sig"

    def manifest_signature(self, model: str) -> str:
        """The OpenSSF model-signing signature of `manifest.json`."""
        return f"{self.manifest(model)}.sig"

    def report_json(self, model: str) -> str:
        """Every variant's measurements: what the gates, reports and `tflmake report` read."""
        return f"{self.model_dir(model)}/report.json"

    def previous_report_json(self, model: str) -> str:
        """The measurements the previous evaluation wrote, kept so reports can say what moved."""
        return f"{self.model_dir(model)}/report.previous.json"

    def report_md(self, model: str) -> str:
        return f"{self.model_dir(model)}/report.md"

    def tradeoff_png(self, model: str) -> str:
        """Size against accuracy (or error), one labelled point per variant."""
        return f"{self.model_dir(model)}/tradeoff.png"

    @property
    def project_report_md(self) -> str:
        return f"{self.build_dir}/report.md"

    @property
    def project_report_html(self) -> str:
        """Every model on one self-contained page (images inlined)."""
        return f"{self.build_dir}/report.html"

    @property
    def spec_cache(self) -> str:
        """Spec texts that passed schema validation, with their parsed documents (see speccache)."""
        return f"{self.build_dir}/.valid-specs.json"

    @property
    def task_cache(self) -> str:
        """Each spec's model and task dicts, reused while their inputs are unchanged (see taskcache)."""
        return f"{self.build_dir}/.task-cache.pickle"

    @property
    def tool_versions_cache(self) -> str:
        """Installed tool versions, valid while sys.path is unchanged (see toolversions)."""
        return f"{self.build_dir}/.tool-versions.json"

    @property
    def variables_digests(self) -> str:
        """SavedModel variables' digests by their checkpoint files' sha256 (see builders.manifest)."""
        return f"{self.build_dir}/.variables-digests.json"

    @property
    def failed_tasks(self) -> str:
        """Tasks whose last run failed, with their one-line causes (see lastrun)."""
        return f"{self.build_dir}/.failed-tasks.json"

    @property
    def dep_file(self) -> str:
        """doit's state database, kept with the outputs so `rm -rf build` resets everything."""
        return f"{self.build_dir}/.doit.db"

    def worker_socket(self, slot: int = 0) -> str:
        """Warm worker `slot`'s AF_UNIX socket (mode 0600; see engine.workerlink): `.worker.sock`, `.worker-1.sock`."""
        return f"{self.build_dir}/.worker{_slot_suffix(slot)}.sock"

    def worker_record(self, slot: int = 0) -> str:
        """Warm worker `slot`'s pid and identity, written once it serves (for `tflmake worker stop`)."""
        return f"{self.build_dir}/.worker{_slot_suffix(slot)}.json"

    def worker_lock(self, slot: int = 0) -> str:
        """Locked by warm worker `slot` from its start to its exit: a run that can lock it may start one there."""
        return f"{self.build_dir}/.worker{_slot_suffix(slot)}.lock"

    def is_worker_file(self, name: str) -> bool:
        """Whether a file name in the build folder is a warm worker's (kept when the folder is emptied)."""
        return name == Path(self.worker_log).name or (name.startswith(".worker") and
                                                      name.endswith((".sock", ".json", ".lock")))

    @property
    def worker_log(self) -> str:
        """What the warm workers print outside a step (their start, their exit and why)."""
        return f"{self.build_dir}/worker.log"


def _slot_suffix(slot: int) -> str:
    """The first warm worker's files keep the names they had before a project could have more."""
    return f"-{slot}" if slot else ""
