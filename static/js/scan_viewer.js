// PET viewer on the scan page (templates/imaging/scan_detail.html), on the vendored niivue ES module
// (static/vendor/niivue, see SOURCE.md). A module file, not inline, for the CSP.
// The app serves NIfTI in RAS+ (world x = -LPS x, y = -LPS y); the sphere VOI form takes DICOM LPS mm.
import { MULTIPLANAR_TYPE, Niivue, SHOW_RENDER, SLICE_TYPE } from "../vendor/niivue/niivue.esm.js";

const box = document.getElementById("pet-viewer");
const PALETTE = [
  [0, 200, 255], [0, 255, 120], [255, 255, 0], [255, 0, 255], [80, 140, 255],
  [255, 140, 0], [0, 255, 255], [180, 255, 80], [255, 90, 120], [200, 160, 255],
];
const colour = (label) => PALETTE[(label - 1) % PALETTE.length];
// SUV fused on a CT: below the window's lower bound the SUV is not drawn at all (the CT shows through), above it the
// colours run from SUV 0 to the upper bound. niivue 0.69's COLORMAP_TYPE (not exported by its module):
// 0 MIN_TO_MAX, 1 ZERO_TO_MAX_TRANSPARENT_BELOW_MIN, 2 ZERO_TO_MAX_TRANSLUCENT_BELOW_MIN. In its volume shader
// (fragOrientShader) type 2 sets alpha 0 for 0 < SUV < cal_min, while type 1 only fades it by (SUV/cal_min)^2,
// the reverse of their names (its mesh code follows the names); 2 is the one that leaves the CT clean. (With 0, SUV
// at or below cal_min falls on the map's first entry, transparent in niivue's built-in maps; 2 does not rely on it.)
const SUV_OVER_CT_COLORMAP_TYPE = 2;
const rasToLps = (mm) => [-mm[0], -mm[1], mm[2]];
const lpsToRas = rasToLps;  // the same sign flip both ways
const fmt = (v) => (Math.round(v * 10) / 10).toFixed(1);

function setStatus(text) {
  document.getElementById("viewer-location").textContent = text;
}

function labelMap(vois) {
  const cm = { R: [0], G: [0], B: [0], A: [0], I: [0], labels: [""] };
  for (const v of vois) {
    const [r, g, b] = colour(v.label);
    cm.R.push(r); cm.G.push(g); cm.B.push(b); cm.A.push(255); cm.I.push(v.label); cm.labels.push(v.name);
  }
  return cm;
}

function legend(vois) {
  const list = document.getElementById("viewer-legend");
  list.textContent = "";
  for (const v of vois) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    const [r, g, b] = colour(v.label);
    swatch.style.cssText = `display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;border:2px solid rgb(${r},${g},${b});vertical-align:middle`;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(v.name));
    item.dataset.voi = v.name;
    list.appendChild(item);
  }
}

// The metrics of the sphere in the form, computed by the server before anything is saved.
let previewRequest = 0;
async function previewSphere(form) {
  const out = document.getElementById("sphere-preview");
  if (!out || !box.dataset.previewUrl) return;
  const value = (name) => (form.querySelector(`[name=${name}]`) || {}).value;
  const query = { x: value("centre_x"), y: value("centre_y"), z: value("centre_z"), r: value("radius_mm") };
  if (Object.values(query).some((v) => v === undefined || v === "")) {
    out.textContent = "Give a radius to see the sphere's SUV before saving it.";
    return;
  }
  const mine = ++previewRequest;
  const response = await fetch(`${box.dataset.previewUrl}?${new URLSearchParams(query)}`, { credentials: "same-origin" });
  const body = await response.json();
  if (mine !== previewRequest) return;  // a later request has been sent: show only the newest answer
  if (!response.ok) {
    out.textContent = Object.values(body.errors || {}).flat().join(" ") || "No preview.";
    out.dataset.state = "error";
    return;
  }
  const m = body.metrics;
  out.textContent = `Not saved yet: SUVmax ${m.suv_max.toFixed(3)}, SUVmean ${m.suv_mean.toFixed(3)}, ` +
    `SUVpeak ${m.suv_peak.toFixed(3)}, ${m.voxels} voxels (${m.volume_ml.toFixed(2)} mL).`;
  out.dataset.state = "ready";
  out.dataset.suvMax = String(m.suv_max);
  out.dataset.suvMean = String(m.suv_mean);
}

async function start() {
  const canvas = document.getElementById("viewer-canvas");
  const nv = new Niivue({
    backColor: [0, 0, 0, 1],
    crosshairColor: [0.2, 1, 0.2, 0.6],
    crosshairGap: 4,  // keep the crosshair off the voxels under it (a small VOI stays visible)
    isNearestInterpolation: true,  // PET voxels as they are; crisp VOI outlines
    isRadiologicalConvention: true,  // patient right on the left of axial and coronal views
    dragAndDropEnabled: false,
    isOrientationTextVisible: true,
    multiplanarShowRender: SHOW_RENDER.NEVER,
    multiplanarLayout: MULTIPLANAR_TYPE.ROW,
    atlasOutline: 1,
    isColorbar: true,
    show3Dcrosshair: false,
  });
  await nv.attachToCanvas(canvas);
  const listing = await (await fetch(box.dataset.voisUrl, { credentials: "same-origin" })).json();
  const vois = listing.vois;
  let low = Number(box.dataset.windowMin), high = Number(box.dataset.windowMax);
  if (!(high > low)) { low = 0; high = Math.max(1, listing.suv_max || 1); }
  // With a linked CT: the CT (grey, HU) is the base volume and the SUV an overlay on it; otherwise the SUV alone.
  const ct = listing.ct;
  // Fused on a CT, the SUV starts at 1 (or a tenth of the upper bound when that is lower): the body's background
  // uptake then leaves the CT readable; the radiologist lowers it to 0 to see all of the PET.
  if (ct && low === 0) low = Math.min(1, high / 10);
  const volumes = [];
  if (ct) {
    volumes.push({ url: ct.url, name: "ct.nii.gz", colormap: "gray", cal_min: ct.window[0], cal_max: ct.window[1], colorbarVisible: false });
  }
  const suvIndex = volumes.length;
  const suvType = ct ? SUV_OVER_CT_COLORMAP_TYPE : 0;
  volumes.push({
    url: box.dataset.suvUrl, name: "suv.nii.gz", colormap: "hot", cal_min: low, cal_max: high,
    opacity: ct ? 0.6 : 1,
  });
  const labelIndex = volumes.length;
  if (vois.length) volumes.push({ url: box.dataset.labelsUrl, name: "vois.nii.gz", opacity: 0.25, colorbarVisible: false });
  await nv.loadVolumes(volumes);
  nv.volumes[suvIndex].colormapType = suvType;  // set after loading: niivue's loadFromUrl ignores this option
  if (vois.length) nv.volumes[labelIndex].setColormapLabel(labelMap(vois));
  nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
  nv.updateGLVolume();
  legend(vois);

  const fusion = ct ? ` PET fused on the CT (${ct.window[0]}–${ct.window[1]} HU).` : "";
  document.getElementById("viewer-min").value = low;
  document.getElementById("viewer-max").value = high;
  const applyWindow = () => {
    const lo = Number(document.getElementById("viewer-min").value);
    const hi = Number(document.getElementById("viewer-max").value);
    if (!(hi > lo)) return;
    nv.volumes[suvIndex].cal_min = lo;
    nv.volumes[suvIndex].cal_max = hi;
    nv.volumes[suvIndex].colormapType = suvType;  // a new window keeps the SUV off the CT below its lower bound
    nv.updateGLVolume();
    box.dataset.suvWindow = `${lo},${hi}`;
    setStatus(`SUV window ${lo}–${hi}.${fusion}`);
  };
  document.getElementById("viewer-min").addEventListener("change", applyWindow);
  document.getElementById("viewer-max").addEventListener("change", applyWindow);
  document.getElementById("viewer-colormap").addEventListener("change", (e) => {
    nv.volumes[suvIndex].colormap = e.target.value;
    nv.updateGLVolume();
  });
  if (ct) {
    const ctMin = document.getElementById("viewer-ct-min");
    const ctMax = document.getElementById("viewer-ct-max");
    const opacity = document.getElementById("viewer-opacity");
    const preset = document.getElementById("viewer-ct-preset");
    const applyCt = () => {
      const lo = Number(ctMin.value), hi = Number(ctMax.value);
      if (!(hi > lo)) return;
      nv.volumes[0].cal_min = lo;
      nv.volumes[0].cal_max = hi;
      nv.updateGLVolume();
      box.dataset.ctWindow = `${lo},${hi}`;
    };
    if (ctMin && ctMax) {
      [ctMin.value, ctMax.value] = ct.window;
      ctMin.addEventListener("change", applyCt);
      ctMax.addEventListener("change", applyCt);
    }
    if (preset) {
      preset.addEventListener("change", () => {
        [ctMin.value, ctMax.value] = preset.value.split(",");
        applyCt();
      });
    }
    if (opacity) {
      opacity.addEventListener("input", () => {
        nv.setOpacity(suvIndex, Number(opacity.value));
        box.dataset.petOpacity = opacity.value;
      });
      box.dataset.petOpacity = opacity.value;
    }
    box.dataset.ctWindow = ct.window.join(",");
  }
  box.dataset.fused = ct ? "1" : "0";
  box.dataset.suvWindow = `${low},${high}`;
  document.getElementById("viewer-layout").addEventListener("change", (e) => {
    nv.setSliceType(Number(e.target.value));
  });

  // Labels: each VOI's name next to it on every view whose slice passes through the VOI.
  const layer = document.getElementById("viewer-labels");
  const drawLabels = () => {
    layer.textContent = "";
    if (!nv.volumes.length) return;
    const cross = nv.frac2mm(nv.scene.crosshairPos);
    const scale = canvas.width / canvas.clientWidth || 1;
    for (const v of vois) {
      if (!v.centre_mm) continue;
      const c = lpsToRas(v.centre_mm);
      const half = v.half_extent_mm || [v.radius_mm || 5, v.radius_mm || 5, v.radius_mm || 5];
      const planes = [
        [SLICE_TYPE.AXIAL, 2, [c[0], c[1], cross[2]]],
        [SLICE_TYPE.CORONAL, 1, [c[0], cross[1], c[2]]],
        [SLICE_TYPE.SAGITTAL, 0, [cross[0], c[1], c[2]]],
      ];
      for (const [type, axis, point] of planes) {
        if (Math.abs(cross[axis] - c[axis]) > half[axis]) continue;
        const hit = nv.frac2canvasPosWithTile(nv.mm2frac(point), type);
        if (!hit) continue;
        const [r, g, b] = colour(v.label);
        const tag = document.createElement("span");
        tag.className = "viewer-label";
        tag.dataset.voi = v.name;
        tag.textContent = v.name;
        tag.style.cssText = `position:absolute;left:${hit.pos[0] / scale + 6}px;top:${hit.pos[1] / scale - 18}px;` +
          `color:rgb(${r},${g},${b});font:600 12px sans-serif;text-shadow:0 0 3px #000`;
        layer.appendChild(tag);
      }
    }
  };
  const draw = nv.drawScene.bind(nv);
  let pending = false;
  nv.drawScene = (...args) => {
    const out = draw(...args);
    if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; drawLabels(); }); }
    return out;
  };

  // A click (or any move of the crosshair by the user) puts its patient position into the sphere VOI form.
  const form = document.getElementById("sphere-form");
  nv.onLocationChange = (msg) => {
    const lps = rasToLps(msg.mm);
    // values[k] is volume k sampled on its own grid: the SUV overlay's, never the CT's HU.
    const suv = msg.values && msg.values.length > suvIndex ? msg.values[suvIndex].value : NaN;
    const hu = ct && msg.values && msg.values.length ? msg.values[0].value : NaN;
    const ctText = Number.isFinite(hu) ? ` · CT ${Math.round(hu)} HU` : "";
    setStatus(`LPS ${fmt(lps[0])}, ${fmt(lps[1])}, ${fmt(lps[2])} mm${ctText} · SUV ${Number.isFinite(suv) ? suv.toFixed(2) : "–"}`);
    if (!form) return;
    const names = ["centre_x", "centre_y", "centre_z"];
    names.forEach((name, k) => {
      const input = form.querySelector(`[name=${name}]`);
      if (input) input.value = fmt(lps[k]);
    });
    previewSphere(form);
  };
  if (form) {
    ["centre_x", "centre_y", "centre_z", "radius_mm"].forEach((name) => {
      const input = form.querySelector(`[name=${name}]`);
      if (input) input.addEventListener("change", () => previewSphere(form));
    });
  }
  nv.drawScene();
  setStatus(`SUV window ${low}–${high}.${fusion} ${vois.length} VOI(s). Click to place a sphere VOI.`);
  box.niivue = nv;  // for tests and the console
  box.dataset.ready = "1";
}

if (box) {
  start().catch((err) => {
    setStatus(`The viewer could not start: ${err && err.message ? err.message : err}`);
    box.dataset.ready = "error";
  });
}
