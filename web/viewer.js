// The 3D viewer: three.js, OrbitControls, GLB models in millimetres
// (+X right, +Y up, +Z toward the viewer), a millimetre ground grid.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const GRID_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500];

export class Viewer {
  constructor(container) {
    this.container = container;
    this.model = null;
    this.box = null;
    this.options = { wireframe: false, colors: true, grid: true };
    this.loader = new GLTFLoader();
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0xf3f4f6);
    this.camera = new THREE.PerspectiveCamera(35, 1, 0.1, 10000);
    this.camera.position.set(0, 60, 250);
    this.scene.add(this.camera);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8d8d8d, 1.6));
    const head = new THREE.DirectionalLight(0xffffff, 1.6);
    head.position.set(0.4, 0.6, 1); // follows the camera: always lit from the front
    this.camera.add(head);
    this.grid = null;

    try {
      this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    } catch (e) {
      this.renderer = null;
      this.webglError = e.message || String(e);
      return;
    }
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.domElement.setAttribute('aria-hidden', 'true');
    container.appendChild(this.renderer.domElement);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.listenToKeyEvents(container); // arrow keys pan while focused
    this.controls.addEventListener('change', () => this.render());
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  get webgl() {
    return this.renderer !== null;
  }

  resize() {
    if (!this.renderer) return;
    const w = Math.max(this.container.clientWidth, 1);
    const h = Math.max(this.container.clientHeight, 1);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render() {
    if (this.renderer) this.renderer.render(this.scene, this.camera);
  }

  // Parses a GLB and shows it in place of the current model. Returns
  // {triangles, size: [x, y, z] mm}. fit: frame the camera on it.
  async show(bytes, { fit = true } = {}) {
    const buffer = bytes instanceof ArrayBuffer ? bytes : bytes.slice().buffer;
    const gltf = await this.loader.parseAsync(buffer, '');
    const root = gltf.scene;
    let triangles = 0;
    root.traverse((obj) => {
      if (!obj.isMesh) return;
      const g = obj.geometry;
      triangles += (g.index ? g.index.count : g.attributes.position.count) / 3;
      const hasColors = !!g.attributes.color;
      const old = obj.material;
      obj.material = new THREE.MeshStandardMaterial({
        color: hasColors ? 0xffffff : 0xb8c0cc,
        roughness: 0.85,
        metalness: 0,
        side: THREE.DoubleSide,
      });
      obj.userData.hasColors = hasColors;
      (Array.isArray(old) ? old : [old]).forEach((m) => m && m.dispose());
    });
    this.clear();
    this.model = root;
    this.scene.add(root);
    this.box = new THREE.Box3().setFromObject(root);
    this.applyOptions();
    this.updateGrid();
    if (fit) this.fit();
    this.render();
    const size = this.box.getSize(new THREE.Vector3());
    return { triangles, size: [size.x, size.y, size.z] };
  }

  clear() {
    if (!this.model) return;
    this.scene.remove(this.model);
    this.model.traverse((obj) => {
      if (obj.isMesh) {
        obj.geometry.dispose();
        obj.material.dispose();
      }
    });
    this.model = null;
    this.render();
  }

  set(option, value) {
    this.options[option] = value;
    this.applyOptions();
    this.render();
  }

  applyOptions() {
    if (this.grid) this.grid.visible = this.options.grid;
    if (!this.model) return;
    this.model.traverse((obj) => {
      if (!obj.isMesh) return;
      const m = obj.material;
      m.wireframe = this.options.wireframe;
      const colors = this.options.colors && obj.userData.hasColors;
      m.color.set(colors ? 0xffffff : 0xb8c0cc);
      if (m.vertexColors !== colors) {
        m.vertexColors = colors;
        m.needsUpdate = true;
      }
    });
  }

  // A grid on the model's floor, lines on whole multiples of the step (mm).
  updateGrid() {
    if (this.grid) {
      this.scene.remove(this.grid);
      this.grid.geometry.dispose();
      this.grid.material.dispose();
      this.grid = null;
    }
    if (!this.box || this.box.isEmpty()) return;
    const size = this.box.getSize(new THREE.Vector3());
    const extent = Math.max(size.x, size.z, 1);
    const step = GRID_STEPS.find((s) => extent / s <= 12) || GRID_STEPS[GRID_STEPS.length - 1];
    const cells = Math.max(2, 2 * Math.ceil((extent * 0.75) / step + 1));
    this.grid = new THREE.GridHelper(cells * step, cells, 0x8a94a6, 0xc9ced8);
    const c = this.box.getCenter(new THREE.Vector3());
    this.grid.position.set(
      Math.round(c.x / step) * step,
      this.box.min.y - 0.01 * extent,
      Math.round(c.z / step) * step,
    );
    this.grid.visible = this.options.grid;
    this.gridStep = step;
    this.scene.add(this.grid);
  }

  // Frames the model from the front, a little above and to the right.
  fit() {
    if (!this.box || this.box.isEmpty()) return;
    const sphere = this.box.getBoundingSphere(new THREE.Sphere());
    const r = Math.max(sphere.radius, 1);
    const fov = THREE.MathUtils.degToRad(this.camera.fov);
    const dist = (r / Math.sin(fov / 2)) * 1.05;
    const dir = new THREE.Vector3(0.45, 0.35, 1).normalize();
    this.camera.position.copy(sphere.center).addScaledVector(dir, dist);
    this.camera.near = dist / 100;
    this.camera.far = dist * 100;
    this.camera.updateProjectionMatrix();
    if (this.controls) {
      this.controls.target.copy(sphere.center);
      this.controls.minDistance = r * 0.2;
      this.controls.maxDistance = dist * 20;
      this.controls.update();
    } else {
      this.camera.lookAt(sphere.center);
    }
    this.render();
  }
}
