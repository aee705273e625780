// The dashboard's entry: the page (shared/admin/dashboard.ts) says which side serves it.
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { render } from 'preact'
import { ClientDashboard } from './client.js'
import { RelayDashboard } from './relay.js'

const app = document.getElementById('app')
if (app !== null) render(document.body.dataset.role === 'client' ? <ClientDashboard /> : <RelayDashboard />, app)
