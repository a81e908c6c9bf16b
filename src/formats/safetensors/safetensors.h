// Umbrella header for the safetensors module: reader (file.h), writer + sharding (writer.h), checkpoint
// directories as a TensorSource (checkpoint.h).
#pragma once

#include "formats/safetensors/checkpoint.h"
#include "formats/safetensors/file.h"
#include "formats/safetensors/writer.h"
