#!/usr/bin/env python3
"""Summarise a suite report (target/test-reports/node_suite.txt) as Markdown.

Prints the pass count per op family and every failing test with its reason, grouped by
reason, which is what an issue's closing note needs. The report itself is written by
`cargo test --release --test node_suite` (see tests/common/suite.rs); this script only reads it.

Usage: scripts/node_report.py [REPORT] > summary.md
"""
import re
import sys
from collections import defaultdict

# Op family of every op type in the onnx 1.23.2 node suite. Ops not listed fall into "other".
FAMILIES = {
    "elementwise math": (
        "Abs Acos Acosh Add Asin Asinh Atan Atanh Ceil Celu Clip Cos Cosh Div Elu Erf Exp Floor Gelu "
        "HardSigmoid HardSwish LeakyRelu Log Max Mean Min Mish Mod Mul Neg PRelu Pow Reciprocal Relu "
        "Round Selu Shrink Sigmoid Sign Sin Sinh Softplus Softsign Sqrt Sub Sum SwiGLU Swish Tan Tanh "
        "ThresholdedRelu"
    ),
    "logic, comparison, bits": (
        "And Or Xor Not Equal Greater GreaterOrEqual Less LessOrEqual Where IsInf IsNaN BitShift "
        "BitwiseAnd BitwiseOr BitwiseXor BitwiseNot BitCast"
    ),
    "reductions, arg, top-k, scans": (
        "ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd "
        "ReduceSum ReduceSumSquare ArgMax ArgMin TopK CumSum CumProd Hardmax Softmax LogSoftmax Einsum Det"
    ),
    "indexing": (
        "Gather GatherElements GatherND Scatter ScatterElements ScatterND TensorScatter OneHot Trilu "
        "EyeLike Compress"
    ),
    "shape and data movement": (
        "Concat Constant ConstantOfShape Expand Flatten Identity Pad Range Reshape Shape Size Slice "
        "Split Squeeze Tile Transpose Unsqueeze DepthToSpace SpaceToDepth CenterCropPad ReverseSequence"
    ),
    "conv, pool, resize": (
        "AveragePool Conv ConvTranspose ConvInteger DeformConv GlobalAveragePool GlobalMaxPool LpPool "
        "MaxPool MaxUnpool Resize Upsample Col2Im GridSample AffineGrid RoiAlign"
    ),
    "normalization": (
        "BatchNormalization GroupNormalization InstanceNormalization LayerNormalization LpNormalization "
        "LRN MeanVarianceNormalization RMSNormalization"
    ),
    "attention and sequence models": (
        "Attention RotaryEmbedding LinearAttention FlexAttention CausalConvWithState RNN GRU LSTM"
    ),
    "casts and dtypes": "Cast CastLike",
    "quantization": (
        "QuantizeLinear DequantizeLinear DynamicQuantizeLinear QLinearConv QLinearMatMul MatMulInteger"
    ),
    "matmul": "MatMul Gemm",
    "control flow": "If Loop Scan",
    "data-dependent shapes": "NonZero Unique NonMaxSuppression",
    "text (integer n-grams)": "TfIdfVectorizer",
    "signal": "DFT STFT MelWeightMatrix BlackmanWindow HammingWindow HannWindow",
    "losses, dropout, random": "SoftmaxCrossEntropyLoss NegativeLogLikelihoodLoss Dropout Bernoulli",
    "out of scope: strings, sequences, optionals, ai.onnx.ml, training, images": (
        "StringConcat StringNormalizer StringSplit RegexFullMatch LabelEncoder "
        "SequenceInsert SequenceMap SplitToSequence OptionalGetElement OptionalHasElement "
        "ArrayFeatureExtractor Binarizer TreeEnsemble Adagrad Adam Momentum ImageDecoder"
    ),
}
FAMILY_OF = {op: family for family, ops in FAMILIES.items() for op in ops.split()}


def read_report(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 4:
                name, op, status = parts[:3]
                reason = parts[4] if len(parts) > 4 else ""
                rows.append((name, op, status, reason))
    return rows


def short_reason(reason):
    """The reason without per-test paths, so equal causes group together."""
    reason = re.sub(r"/\S*/test_data_set_0/", "", reason)
    reason = re.sub(r"^exit 1: error: ", "", reason)
    return reason[:220]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "target/test-reports/node_suite.txt"
    rows = read_report(path)
    passed = sum(1 for r in rows if r[2] == "pass")
    print(f"**{passed} / {len(rows)} pass** ({path})\n")
    by_family = defaultdict(lambda: [0, 0])
    for _, op, status, _ in rows:
        entry = by_family[FAMILY_OF.get(op, "other")]
        entry[0] += status == "pass"
        entry[1] += 1
    print("| op family | pass / total |\n|---|---|")
    for family in list(FAMILIES) + ["other"]:
        if family in by_family:
            p, t = by_family[family]
            print(f"| {family} | {p} / {t} |")
    print("\n### Every failing test, by op\n")
    failing = defaultdict(list)
    for name, op, status, reason in rows:
        if status != "pass":
            failing[op].append((name, short_reason(reason)))
    for op in sorted(failing):
        print(f"- **{op}** ({FAMILY_OF.get(op, 'other')}), {len(failing[op])} failing:")
        for name, reason in failing[op]:
            print(f"  - `{name}`: {reason}")


if __name__ == "__main__":
    main()
