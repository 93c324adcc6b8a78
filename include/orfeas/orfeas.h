/* orfeas — image-to-3D engine. Include this for everything. */
#ifndef ORFEAS_H
#define ORFEAS_H

#include "orfeas/error.h"
#include "orfeas/log.h"
#include "orfeas/image.h"
#include "orfeas/mesh.h"
#include "orfeas/export.h"
#include "orfeas/params.h"
#include "orfeas/device.h"
#include "orfeas/vram.h"
#include "orfeas/engine.h"
#include "orfeas/thumbnail.h"
#include "orfeas/buffer.h"
#include "orfeas/blas.h"

#endif
