/** Field numbers of onnx/onnx.proto that the engine reads or writes, and TensorProto.DataType. */

export const MODEL_IR_VERSION = 1;
export const MODEL_PRODUCER_NAME = 2;
export const MODEL_PRODUCER_VERSION = 3;
export const MODEL_GRAPH = 7;
export const MODEL_OPSET_IMPORT = 8;
export const MODEL_METADATA_PROPS = 14;
export const MODEL_TRAINING_INFO = 20;

export const OPSET_DOMAIN = 1;
export const OPSET_VERSION = 2;

export const GRAPH_NODE = 1;
export const GRAPH_NAME = 2;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
export const GRAPH_VALUE_INFO = 13;
export const GRAPH_SPARSE_INITIALIZER = 15;

export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
export const NODE_NAME = 3;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
export const NODE_DOMAIN = 7;

export const ATTR_NAME = 1;
export const ATTR_F = 2;
export const ATTR_I = 3;
export const ATTR_S = 4;
export const ATTR_T = 5;
export const ATTR_G = 6;
export const ATTR_FLOATS = 7;
export const ATTR_INTS = 8;
export const ATTR_STRINGS = 9;
export const ATTR_GRAPHS = 11;
export const ATTR_TYPE = 20;
export const ATTR_TYPE_FLOAT = 1;
export const ATTR_TYPE_INT = 2;
export const ATTR_TYPE_STRING = 3;
export const ATTR_TYPE_TENSOR = 4;
export const ATTR_TYPE_GRAPH = 5;
export const ATTR_TYPE_FLOATS = 6;
export const ATTR_TYPE_INTS = 7;
export const ATTR_TYPE_STRINGS = 8;

export const VI_NAME = 1;
export const VI_TYPE = 2;
export const TYPE_TENSOR = 1;
export const TENSOR_TYPE_ELEM = 1;
export const TENSOR_TYPE_SHAPE = 2;
export const SHAPE_DIM = 1;
export const DIM_VALUE = 1;
export const DIM_PARAM = 2;

export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_FLOAT_DATA = 4;
export const TENSOR_INT32_DATA = 5;
export const TENSOR_INT64_DATA = 7;
export const TENSOR_NAME = 8;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_DOUBLE_DATA = 10;
export const TENSOR_EXTERNAL_DATA = 13;
export const TENSOR_DATA_LOCATION = 14;
export const DATA_LOCATION_EXTERNAL = 1;

export const SPARSE_VALUES = 1;

/** TensorProto.DataType values. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** A DataType as users know it from numpy / torch ('float32', 'uint8', ...), for messages. */
export function dataTypeName(type: number | null): string {
  const names: Record<number, string> = {
    1: 'float32',
    2: 'uint8',
    3: 'int8',
    4: 'uint16',
    5: 'int16',
    6: 'int32',
    7: 'int64',
    8: 'string',
    9: 'bool',
    10: 'float16',
    11: 'float64',
    12: 'uint32',
    13: 'uint64',
    14: 'complex64',
    15: 'complex128',
    16: 'bfloat16',
  };
  return type === null ? 'of unknown type' : (names[type] ?? `data type ${type}`);
}
